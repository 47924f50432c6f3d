// The text form of `bulwark policy show`: the JSON document of process_profile.h, grouped per
// process, so the two outputs cannot say different things.
#include <string>

#include "jailer/policy_cli/process_profile.h"

namespace bulwark::policy_cli {

namespace {

using nlohmann::json;

std::string join(const json& list, const std::string& separator) {
  std::string out;
  for (const json& item : list) {
    if (!out.empty()) out += separator;
    out += item.is_string() ? item.get<std::string>() : item.dump();
  }
  return out;
}

std::string padded(const std::string& label) {
  constexpr size_t kWidth = 17;
  return "  " + label + (label.size() < kWidth ? std::string(kWidth - label.size(), ' ') : " ");
}

std::string value_with_inputs(const json& field) {
  std::string out = std::to_string(field["value"].get<uint64_t>());
  if (field.contains("formula")) out = field["formula"].get<std::string>() + " (" + out + " bytes)";
  if (!field["follows"].empty()) out += "  [follows " + join(field["follows"], ", ") + "]";
  return out;
}

void render_seccomp(const json& seccomp, std::string& out) {
  const std::string status = seccomp["status"];
  if (status == "not filtered") {
    out += padded("Seccomp:") + "none (not filtered)\n";
    return;
  }
  if (status != "loaded") {
    out += padded("Seccomp:") + seccomp["policy_file"].get<std::string>() + ": " + status + " (" +
           seccomp["error"].get<std::string>() + ")\n";
    return;
  }
  out += padded("Seccomp:") + join(seccomp["files"], " + ") + ": " +
         std::to_string(seccomp["syscall_count"].get<size_t>()) + " system calls; any other: " +
         seccomp["violation"].get<std::string>() + "\n";
  for (const json& rule : seccomp["rules"]) {
    std::string name = rule["syscall"];
    name.resize(std::max<size_t>(name.size(), 16), ' ');
    const std::string indent(4 + name.size() + 1, ' ');
    out += "    " + name + " ";
    if (rule["any_arguments"].get<bool>()) {
      out += "any arguments\n";
    } else {
      bool first = true;
      for (const json& clause : rule["only_if_one_of"]) {
        if (!first) out += indent;
        out += (first ? "only if " : "or      ") + clause["as_written"].get<std::string>() + "\n";
        first = false;
      }
    }
    out += indent + "-- " + rule["reason"].get<std::string>() + "  (" + rule["file"].get<std::string>() +
           ":" + std::to_string(rule["line"].get<int>()) + ")\n";
  }
}

void render_selinux(const json& selinux, std::string& out) {
  out += padded("SELinux domain:") + selinux["domain"].get<std::string>() + "  (" +
         selinux["context"].get<std::string>() + ")\n";
  if (!selinux.contains("allow")) {
    out += padded("  may access:") + selinux["module"].get<std::string>() + "\n";
    return;
  }
  out += padded("  may access:") + "(from " + selinux["module"].get<std::string>() + ")\n";
  if (selinux["allow"].empty() && selinux["interface_calls"].empty()) out += "      nothing\n";
  for (const json& a : selinux["allow"]) {
    out += "      " + a["target"].get<std::string>() + ":" + a["class"].get<std::string>() + " { " +
           join(a["perms"], " ") + " }";
    if (a.contains("via_attribute")) out += "  via " + a["via_attribute"].get<std::string>();
    out += "\n";
  }
  for (const json& x : selinux["ioctl_commands_only"]) {
    out += "      " + x["target"].get<std::string>() + ":" + x["class"].get<std::string>() +
           " ioctl commands only { " + join(x["commands"], " ") + " }";
    if (x.contains("via_attribute")) out += "  via " + x["via_attribute"].get<std::string>();
    out += "\n";
  }
  for (const json& call : selinux["interface_calls"]) out += "      " + call.get<std::string>() + "\n";
}

void render_jail(const json& p, std::string& out) {
  out += padded("Runs as:") + p["uid_gid"].get<std::string>() + "\n";
  out += padded("Executable:") + p["executable"].get<std::string>() + "  argv: " + join(p["argv"], " ") + "\n";
  const json& ns = p["namespaces"];
  out += padded("Namespaces:") + "new " + join(ns["new"], ", ") + "; host's " + join(ns["host"], ", ") + "\n";
  if (ns.contains("net")) out += padded("  network:") + ns["net"].get<std::string>() + "\n";
  out += padded("  root:") + ns["root"].get<std::string>() + "\n";
  out += padded("Capabilities:") + "none (" + join(p["capability_sets_cleared"], ", ") + " sets cleared)\n";
  out += padded("Securebits:") + join(p["securebits"], " ") + "\n";
  out += padded("no_new_privs:") + (p["no_new_privs"].get<bool>() ? "1" : "0") +
         "    dumpable: " + (p["dumpable"].get<bool>() ? "1" : "0") +
         "    environment: " + p["environment"].get<std::string>() + "\n";
  out += "  Rlimits:\n";
  for (const auto& [name, field] : p["rlimits"].items()) {
    out += "      " + name + std::string(name.size() < 16 ? 16 - name.size() : 1, ' ') + value_with_inputs(field) + "\n";
  }
  const json& cg = p["cgroup"];
  out += padded("Cgroup:") + cg["path"].get<std::string>() + "\n";
  out += "      memory.max      " + value_with_inputs(cg["memory_max_bytes"]) + "\n";
  out += "      pids.max        " + value_with_inputs(cg["pids_max"]) + "\n";
  json quota = cg["cpu_quota_us"];
  std::string quota_text = std::to_string(quota["value"].get<uint64_t>()) + " us per " +
                           std::to_string(cg["cpu_period_us"].get<uint64_t>()) + " us";
  if (!quota["follows"].empty()) quota_text += "  [follows " + join(quota["follows"], ", ") + "]";
  out += "      cpu quota       " + quota_text + "\n";
  out += "      cpuset          " + cg["cpuset"].get<std::string>() + "\n";
  out += "  Jail root:\n";
  for (const json& item : p["jail_root"]) {
    out += "      " + item["path"].get<std::string>() + "  " + item["type"].get<std::string>();
    if (item.contains("source")) {
      out += " of " + item["source"].get<std::string>() + (item["exec"].get<bool>() ? ", exec" : ", noexec");
      if (item["opened_as_vm_user"].get<bool>()) out += ", opened as the VM user";
    }
    if (item.contains("target")) out += " -> " + item["target"].get<std::string>();
    out += "\n";
  }
  out += p["dev"].empty() ? padded("/dev:") + "no device nodes (no /dev)\n" : "  /dev:\n";
  for (const json& node : p["dev"]) {
    out += "      " + node["path"].get<std::string>() + "  (" + node["host"].get<std::string>() + "), " +
           node["mode"].get<std::string>() + ", owned by " + node["owner"].get<std::string>() + "\n";
  }
  out += "  Open fds:\n";
  for (const json& fd : p["fds"]) {
    out += "      " + std::to_string(fd["fd"].get<int>()) + ": " + fd["from"].get<std::string>() + "\n";
  }
  out += padded("Seccomp set by:") + p["seccomp_installed_by"].get<std::string>() + "\n";
}

}  // namespace

std::string render_profiles_text(const nlohmann::json& doc) {
  const json& vm = doc["representative_vm"];
  std::string out = "What each Bulwark process may do, computed from the launcher's code and the policy "
                    "files in " + doc["seccomp_dir"].get<std::string>() + "\n";
  out += "(values for a VM with " + std::to_string(vm["memory_mib"].get<uint64_t>()) + " MiB of RAM, " +
         std::to_string(vm["disks"].get<int>()) + " disk of " +
         std::to_string(vm["disk_image_bytes"].get<uint64_t>() >> 20) + " MiB, an rng and " +
         std::to_string(vm["nets"].get<int>()) + " NIC with " + std::to_string(vm["net_queue_pairs"].get<int>()) +
         " queue pair; [follows X] names the " +
         "launch input a value changes with)\n";
  for (const json& p : doc["processes"]) {
    out += "\n== " + p["kind"].get<std::string>() + ": " + p["title"].get<std::string>() + " ==\n";
    if (!p["jailed"].get<bool>()) out += "  " + p["note"].get<std::string>() + "\n";
    render_selinux(p["selinux"], out);
    render_seccomp(p["seccomp"], out);
    if (p["jailed"].get<bool>()) render_jail(p, out);
  }
  return out;
}

}  // namespace bulwark::policy_cli
