#include "jailer/host_config.h"

#include "jailer/jail_config.h"
#include "jailer/json_fields.h"
#include "jailer/api/api_host_config.h"
#include "jailer/net_config.h"
#include "monitor/config/message_text.h"
#include "monitor/config/strict_json.h"
#include "monitor/config/vm_config.h"

namespace bulwark::jail {

Status check_absolute_path(std::string_view path) {
  if (path.empty()) return ok_status();  // the built-in default
  if (path.front() != '/' || path.size() > config::kMaxPathBytes ||
      path.find('\0') != std::string_view::npos) {
    return Error("expected an absolute path, got " + config::quoted_text(path));
  }
  return ok_status();
}

Status read_absolute_dirs(const nlohmann::json& value, const std::string& path, size_t max_dirs,
                          std::vector<std::string>& dirs) {
  const auto* items = value.get_ptr<const nlohmann::json::array_t*>();
  if (items == nullptr) {
    return Error(path + ": expected an array of absolute directories, got " +
                 config::describe_json_value(value));
  }
  if (items->size() > max_dirs) return Error(path + ": at most " + std::to_string(max_dirs) + " directories");
  dirs.clear();
  for (size_t i = 0; i < items->size(); ++i) {
    std::string dir;
    // The jail base dir's rule: absolute, plain components, not "/" (which would cover all).
    if (Status s = read_json_string((*items)[i], check_base_dir, &dir); !s.ok()) {
      return s.error().wrap(config::json_pointer_child(path, i));
    }
    dirs.push_back(std::move(dir));
  }
  return ok_status();
}

namespace {

using nlohmann::json;

Status check_selinux_type_name(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 64;
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_');
  }
  if (ok) return ok_status();
  return Error("expected an SELinux type name [A-Za-z0-9_], 1 to 64 bytes, got " +
               config::quoted_text(name));
}

Status read_object(const json& value, const std::string& path,
                   Status (*member_reader)(const std::string& key, const json& member,
                                           const std::string& member_path, HostConfig& host),
                   HostConfig& host) {
  const auto* members = value.get_ptr<const json::object_t*>();
  if (members == nullptr) {
    return Error(path + ": expected an object, got " + config::describe_json_value(value));
  }
  for (const auto& [key, member] : *members) {
    const std::string member_path = config::json_pointer_child(path, key);
    BULWARK_TRY(member_reader(key, member, member_path, host));
  }
  return ok_status();
}

Status read_selinux_type(const std::string& key, const json& member, const std::string& path,
                         HostConfig& host) {
  std::string* out = key == "vm"        ? &host.selinux_vm_type
                     : key == "image"   ? &host.selinux_image_type
                     : key == "content" ? &host.selinux_content_type
                     : key == "jail"    ? &host.selinux_jail_type
                                        : nullptr;
  if (out == nullptr) return Error(path + ": unknown field (vm, image, content or jail)");
  if (Status s = read_json_string(member, check_selinux_type_name, out); !s.ok()) {
    return s.error().wrap(path);
  }
  return ok_status();
}

Status read_vm_limit(const std::string& key, const json& member, const std::string& path,
                     HostConfig& host) {
  VmLimits& limits = host.vm_limits;
  Status status = ok_status();
  if (key == "max_vcpus") {
    status = read_json_integer(member, 1, config::kMaxVcpus, &limits.max_vcpus);
  } else if (key == "max_memory_mib") {
    status = read_json_integer(member, 1, config::kMaxMemoryMib, &limits.max_memory_mib);
  } else if (key == "max_disks") {
    status = read_json_integer(member, 0, kMaxDisks, &limits.max_disks);
  } else if (key == "max_disk_size_mib") {
    status = read_json_integer(member, 1, kMaxDiskSizeMibCeiling, &limits.max_disk_size_mib);
  } else if (key == "memory_overhead_mib") {
    status = read_json_integer(member, 0, kMaxMemoryOverheadMib, &limits.memory_overhead_mib);
  } else if (key == "pids_max") {
    status = read_json_integer(member, 1, kMaxPidsMax, &limits.pids_max);
  } else if (key == "cpu_quota_percent") {
    status = read_json_integer(member, 0, kMaxCpuQuotaPercent, &limits.cpu_quota_percent);
  } else if (key == "cpuset") {
    status = read_json_string(member, check_cpuset, &limits.cpuset);
  } else {
    return Error(path + ": unknown field");
  }
  if (!status.ok()) return status.error().wrap(path);
  return ok_status();
}

Status read_device_restart(const std::string& key, const json& member, const std::string& path,
                           HostConfig& host) {
  DeviceRestartLimit& limit = host.device_restart;
  Status status = ok_status();
  if (key == "max_restarts") {
    status = read_json_integer(member, 0, kMaxDeviceRestarts, &limit.max_restarts);
  } else if (key == "window_seconds") {
    status = read_json_integer(member, 1, kMaxDeviceRestartWindowSeconds, &limit.window_seconds);
  } else {
    return Error(path + ": unknown field (max_restarts or window_seconds)");
  }
  if (!status.ok()) return status.error().wrap(path);
  return ok_status();
}

Status read_network_namespaces(const json& value, const std::string& path, HostConfig& host) {
  const auto* items = value.get_ptr<const json::array_t*>();
  if (items == nullptr) {
    return Error(path + ": expected an array of names, got " + config::describe_json_value(value));
  }
  if (items->size() > 4096) return Error(path + ": at most 4096 names");
  host.network_namespaces.clear();
  for (size_t i = 0; i < items->size(); ++i) {
    std::string name;
    const std::string item_path = config::json_pointer_child(path, i);
    if (Status s = read_json_string((*items)[i], check_netns_name, &name); !s.ok()) {
      return s.error().wrap(item_path);
    }
    if (name.empty()) return Error(item_path + ": expected a name, got \"\"");
    host.network_namespaces.push_back(std::move(name));
  }
  return ok_status();
}

Status read_shared_image_dirs(const json& value, const std::string& path, HostConfig& host) {
  return read_absolute_dirs(value, path, 256, host.shared_image_dirs);
}

Status read_top_level(const std::string& key, const json& member, const std::string& path,
                      HostConfig& host) {
  Status status = ok_status();
  uint64_t first = 0, last = 0;
  if (key == "base_dir") {
    status = read_json_string(member, check_base_dir, &host.base_dir);
  } else if (key == "run_dir") {
    status = read_json_string(member, check_base_dir, &host.run_dir);
  } else if (key == "cgroup_root") {
    status = read_json_string(member, check_base_dir, &host.cgroup_root);
  } else if (key == "cgroup_parent") {
    status = read_json_string(member, check_cgroup_parent, &host.cgroup_parent);
  } else if (key == "id_range") {
    BULWARK_TRY(read_json_range(member, 1, kMaxVmUid, &first, &last, path));
    host.id_range_first = static_cast<uint32_t>(first);
    host.id_range_last = static_cast<uint32_t>(last);
  } else if (key == "mcs_range") {
    BULWARK_TRY(read_json_range(member, 0, 1023, &first, &last, path));
    if (first == last) return Error(path + ": needs at least two categories");
    host.mcs_first = static_cast<uint16_t>(first);
    host.mcs_last = static_cast<uint16_t>(last);
  } else if (key == "selinux") {
    status = read_json_string(member, check_selinux_mode, &host.selinux);
  } else if (key == "selinux_types") {
    return read_object(member, path, read_selinux_type, host);
  } else if (key == "network_namespaces") {
    return read_network_namespaces(member, path, host);
  } else if (key == "shared_image_dirs") {
    return read_shared_image_dirs(member, path, host);
  } else if (key == "monitor") {
    status = read_json_string(member, check_absolute_path, &host.monitor);
  } else if (key == "dev_blk") {
    status = read_json_string(member, check_absolute_path, &host.dev_blk);
  } else if (key == "dev_rng") {
    status = read_json_string(member, check_absolute_path, &host.dev_rng);
  } else if (key == "dev_net") {
    status = read_json_string(member, check_absolute_path, &host.dev_net);
  } else if (key == "dev_vsock") {
    status = read_json_string(member, check_absolute_path, &host.dev_vsock);
  } else if (key == "net") {
    return read_host_net_config(member, path, host.net);
  } else if (key == "api") {
    return read_host_api_config(member, path, host.api);
  } else if (key == "tpm") {
    return read_host_tpm_config(member, path, host.tpm);
  } else if (key == "vsock") {
    return read_host_vsock_config(member, path, host.vsock);
  } else if (key == "seccomp_policy_dir") {
    status = read_json_string(member, check_absolute_path, &host.seccomp_policy_dir);
  } else if (key == "allow_device_files") {
    status = read_json_bool(member, &host.allow_device_files);
  } else if (key == "stop_grace_seconds") {
    status = read_json_integer(member, 1, 3600, &host.stop_grace_seconds);
  } else if (key == "blk_poll_us") {
    status = read_json_integer(member, 0, kMaxBlkPollUs, &host.blk_poll_us);
  } else if (key == "vm_limits") {
    return read_object(member, path, read_vm_limit, host);
  } else if (key == "device_restart") {
    return read_object(member, path, read_device_restart, host);
  } else {
    return Error(path + ": unknown field");
  }
  if (!status.ok()) return status.error().wrap(path);
  return ok_status();
}

}  // namespace

Result<HostConfig> parse_host_config(std::string_view text) {
  auto prefixed = [](const Error& e) { return e.wrap("host config"); };
  Result<json> root = config::parse_strict_json(text);
  if (!root.ok()) return prefixed(root.error());
  HostConfig host;
  if (root->get_ptr<const json::object_t*>() == nullptr) {
    return Error("host config: top level: expected an object, got " +
                 config::describe_json_value(*root));
  }
  if (Status s = read_object(*root, "", read_top_level, host); !s.ok()) return prefixed(s.error());
  return host;
}

std::string describe_host_config(const HostConfig& c) {
  auto or_default = [](const std::string& value) { return value.empty() ? "(built-in)" : value; };
  std::string namespaces;
  for (const std::string& name : c.network_namespaces) {
    namespaces += (namespaces.empty() ? "" : ", ") + name;
  }
  const VmLimits& l = c.vm_limits;
  std::string text;
  auto line = [&text](const std::string& name, const std::string& value) {
    text += "  " + name + " = " + value + "\n";
  };
  line("base_dir", c.base_dir);
  line("run_dir", c.run_dir);
  line("cgroup_root", c.cgroup_root);
  line("cgroup_parent", c.cgroup_parent);
  line("id_range", std::to_string(c.id_range_first) + ".." + std::to_string(c.id_range_last));
  line("mcs_range", "c" + std::to_string(c.mcs_first) + "..c" + std::to_string(c.mcs_last));
  line("selinux", c.selinux);
  line("network_namespaces", namespaces.empty() ? "(none)" : namespaces);
  std::string shared;
  for (const std::string& dir : c.shared_image_dirs) shared += (shared.empty() ? "" : ", ") + dir;
  line("shared_image_dirs", shared.empty() ? "(none)" : shared);
  line("allow_device_files", c.allow_device_files ? "true" : "false");
  line("monitor", or_default(c.monitor));
  line("dev_blk", or_default(c.dev_blk));
  line("dev_rng", or_default(c.dev_rng));
  line("dev_net", or_default(c.dev_net));
  line("dev_vsock", or_default(c.dev_vsock));
  line("seccomp_policy_dir", or_default(c.seccomp_policy_dir));
  line("stop_grace_seconds", std::to_string(c.stop_grace_seconds));
  line("blk_poll_us", std::to_string(c.blk_poll_us));
  line("device_restart.max_restarts", std::to_string(c.device_restart.max_restarts));
  line("device_restart.window_seconds", std::to_string(c.device_restart.window_seconds));
  line("vm_limits.max_vcpus", std::to_string(l.max_vcpus));
  line("vm_limits.max_memory_mib", std::to_string(l.max_memory_mib));
  line("vm_limits.max_disks", std::to_string(l.max_disks));
  line("vm_limits.max_disk_size_mib", std::to_string(l.max_disk_size_mib));
  line("vm_limits.memory_overhead_mib", std::to_string(l.memory_overhead_mib));
  line("vm_limits.pids_max", std::to_string(l.pids_max));
  line("vm_limits.cpu_quota_percent", std::to_string(l.cpu_quota_percent));
  line("vm_limits.cpuset", l.cpuset.empty() ? "(inherit)" : l.cpuset);
  return text + describe_net_host_config(c.net) + describe_api_host_config(c.api) + describe_tpm_host_config(c.tpm) +
         describe_vsock_host_config(c.vsock);
}

}  // namespace bulwark::jail
