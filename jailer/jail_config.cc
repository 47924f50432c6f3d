#include "jailer/jail_config.h"

#include <nlohmann/json.hpp>

#include "jailer/json_fields.h"
#include "jailer/net_config.h"
#include "jailer/vm_id.h"
#include "monitor/config/json_config.h"
#include "monitor/config/message_text.h"
#include "monitor/config/strict_json.h"

namespace bulwark::jail {

namespace {

using nlohmann::json;

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

// Operator settings a tenant's file may not carry. "jail" held most of them before the host
// config existed; its old members are listed too, so a config moved up a level is still refused.
constexpr const char* kOperatorFields[] = {
    "jail",          "id",        "vm_id",          "uid",
    "gid",           "id_range",  "selinux",        "selinux_types",
    "base_dir",      "run_dir",   "cgroup_root",    "cgroup_parent",
    "memory_overhead_mib", "pids_max", "cpu_quota_percent", "cpuset",
    "netns",         "seccomp",   "seccomp_policy_dir", "devices",
    "allow_device_files", "monitor", "dev_blk",     "dev_rng",
    "dev_net",       "net",       "shared_image_dirs", "control_fd",
    "blk_poll_us",   "dev_vsock", "tpm_fd"};

bool is_operator_field(std::string_view key) {
  for (const char* name : kOperatorFields) {
    if (key == name) return true;
  }
  return false;
}

Status check_disk_serial(std::string_view serial) {
  if (serial.size() > 20) return Error("longer than 20 bytes (virtio-blk GET_ID)");
  for (char c : serial) {
    if (!is_name_char(c)) {
      return Error("expected [A-Za-z0-9_.-], got " + config::quoted_text(serial));
    }
  }
  return ok_status();
}

Status read_format(const json& value, DiskFormat* out) {
  std::string text;
  BULWARK_TRY(read_json_string(value, nullptr, &text));
  if (text == "raw") {
    *out = DiskFormat::kRaw;
  } else if (text == "qcow2") {
    *out = DiskFormat::kQcow2;
  } else {
    return Error("expected \"raw\" or \"qcow2\", got " + config::quoted_text(text));
  }
  return ok_status();
}

Status read_backing(const json& value, const std::string& path, std::vector<BackingImage>& chain) {
  const auto* items = value.get_ptr<const json::array_t*>();
  if (items == nullptr) return Error(path + ": expected an array, got " + config::describe_json_value(value));
  if (items->size() > kMaxBackingChain) return Error(path + ": at most 16 backing images");
  for (size_t i = 0; i < items->size(); ++i) {
    const std::string item_path = config::json_pointer_child(path, i);
    const auto* members = (*items)[i].get_ptr<const json::object_t*>();
    if (members == nullptr) {
      return Error(item_path + ": expected an object, got " + config::describe_json_value((*items)[i]));
    }
    BackingImage image;
    bool has_path = false;
    for (const auto& [key, member] : *members) {
      const std::string field = config::json_pointer_child(item_path, key);
      Status status = ok_status();
      if (key == "path") {
        status = read_json_string(member, config::check_required_path, &image.path);
        if (status.ok() && image.path.front() != '/') status = Error("expected an absolute path");
        has_path = true;
      } else if (key == "format") {
        status = read_format(member, &image.format);
      } else {
        return Error(field + ": unknown field");
      }
      if (!status.ok()) return status.error().wrap(field);
    }
    if (!has_path) return Error(item_path + "/path: required");
    chain.push_back(std::move(image));
  }
  return ok_status();
}

Status read_disk(const json& value, const std::string& path, DiskSettings& disk) {
  const auto* members = value.get_ptr<const json::object_t*>();
  if (members == nullptr) {
    return Error(path + ": expected an object, got " + config::describe_json_value(value));
  }
  bool has_path = false;
  for (const auto& [key, member] : *members) {
    const std::string field = config::json_pointer_child(path, key);
    Status status = ok_status();
    if (key == "path") {
      status = read_json_string(member, config::check_required_path, &disk.path);
      if (status.ok() && disk.path.front() != '/') status = Error("expected an absolute path");
      has_path = true;
    } else if (key == "read_only") {
      status = read_json_bool(member, &disk.read_only);
    } else if (key == "serial") {
      status = read_json_string(member, check_disk_serial, &disk.serial);
    } else if (key == "queues") {
      status = read_json_integer(member, 1, kMaxDiskQueues, &disk.queues);
    } else if (key == "format") {
      status = read_format(member, &disk.format);
    } else if (key == "backing") {
      BULWARK_TRY(read_backing(member, field, disk.backing));
    } else if (key == "rate_limiter") {
      BULWARK_TRY(read_rate_pair(member, field, disk.rate_bytes, disk.rate_ops));
    } else {
      return Error(field + ": unknown field");
    }
    if (!status.ok()) return status.error().wrap(field);
  }
  if (!has_path) return Error(path + "/path: required");
  return ok_status();
}

Status read_disks(const json& value, std::vector<DiskSettings>& disks) {
  const auto* items = value.get_ptr<const json::array_t*>();
  if (items == nullptr) return Error("/disks: expected an array, got " + config::describe_json_value(value));
  if (items->size() > kMaxDisks) return Error("/disks: at most 8 disks");
  for (size_t i = 0; i < items->size(); ++i) {
    DiskSettings disk;
    BULWARK_TRY(read_disk((*items)[i], config::json_pointer_child("/disks", i), disk));
    disks.push_back(std::move(disk));
  }
  return ok_status();
}

}  // namespace

Status check_base_dir(std::string_view dir) {
  if (dir.size() < 2 || dir.front() != '/' || dir.size() > config::kMaxPathBytes) {
    return Error("expected an absolute directory path other than /, got " +
                 config::quoted_text(dir));
  }
  // Plain components only: no "..", no "//", no trailing '/', so the jail cannot land
  // anywhere but where the path says.
  size_t start = 1;
  while (start <= dir.size()) {
    size_t end = dir.find('/', start);
    if (end == std::string_view::npos) end = dir.size();
    if (!is_plain_component(dir.substr(start, end - start))) {
      return Error("expected plain components [A-Za-z0-9_.-] separated by '/', got " +
                   config::quoted_text(dir));
    }
    start = end + 1;
  }
  return ok_status();
}

Status check_cgroup_parent(std::string_view parent) {
  bool ok = !parent.empty() && parent.size() <= 1024;
  size_t start = 0;
  while (ok && start <= parent.size()) {
    size_t end = parent.find('/', start);
    if (end == std::string_view::npos) end = parent.size();
    ok = is_plain_component(parent.substr(start, end - start));
    start = end + 1;
  }
  if (ok) return ok_status();
  return Error("expected a relative cgroup path of components [A-Za-z0-9_.-], got " +
               config::quoted_text(parent));
}

Status check_cpuset(std::string_view cpuset) {
  // "" (inherit) or a list like "0-3,6": digits, ',' and '-' with a number on each side.
  if (cpuset.size() > 256) return Error("longer than 256 characters");
  bool ok = true;
  size_t start = 0;
  while (ok && !cpuset.empty() && start <= cpuset.size()) {
    size_t end = cpuset.find(',', start);
    if (end == std::string_view::npos) end = cpuset.size();
    std::string_view item = cpuset.substr(start, end - start);
    const size_t dash = item.find('-');
    auto is_number = [](std::string_view n) {
      if (n.empty() || n.size() > 5) return false;
      for (char c : n) {
        if (c < '0' || c > '9') return false;
      }
      return true;
    };
    ok = dash == std::string_view::npos
             ? is_number(item)
             : is_number(item.substr(0, dash)) && is_number(item.substr(dash + 1));
    start = end + 1;
  }
  if (ok) return ok_status();
  return Error("expected a CPU list such as \"0-3,6\", got " + config::quoted_text(cpuset));
}

Status check_netns_name(std::string_view name) {
  if (name.empty() || is_plain_component(name)) return ok_status();
  return Error("expected a name from /run/netns ([A-Za-z0-9_.-]), got " + config::quoted_text(name));
}

Status check_selinux_mode(std::string_view mode) {
  if (mode == "enforce" || mode == "auto" || mode == "off") return ok_status();
  return Error("expected \"enforce\", \"auto\" or \"off\", got " + config::quoted_text(mode));
}

Status validate_launch_config(const LaunchConfig& config) {
  const JailSettings& jail = config.jail;
  auto field = [](Status status, const char* path) -> Status {
    if (status.ok()) return status;
    return status.error().wrap(path);
  };
  BULWARK_TRY(field(validate_vm_id(jail.id), "--id"));
  // 0 for both means "allocate"; a single 0 would be root.
  const bool allocate = jail.uid == 0 && jail.gid == 0;
  if (!allocate && (jail.uid < 1 || jail.uid > kMaxVmUid)) {
    return Error("uid: must be 1 .. 2147483646");
  }
  if (!allocate && (jail.gid < 1 || jail.gid > kMaxVmUid)) {
    return Error("gid: must be 1 .. 2147483646");
  }
  if (jail.id_range_first < 1 || jail.id_range_first > jail.id_range_last ||
      jail.id_range_last > kMaxVmUid) {
    return Error("host config /id_range: must be [first, last] with 1 <= first <= last <= 2147483646");
  }
  BULWARK_TRY(field(check_selinux_mode(jail.selinux), "host config /selinux"));
  BULWARK_TRY(field(check_base_dir(jail.base_dir), "host config /base_dir"));
  BULWARK_TRY(field(check_cgroup_parent(jail.cgroup_parent), "host config /cgroup_parent"));
  BULWARK_TRY(field(check_cpuset(jail.cpuset), "host config /vm_limits/cpuset"));
  BULWARK_TRY(field(check_netns_name(jail.netns), "--netns"));
  if (jail.pids_max < 1 || jail.pids_max > kMaxPidsMax) return Error("host config /vm_limits/pids_max: out of range");
  if (jail.memory_overhead_mib > kMaxMemoryOverheadMib) {
    return Error("host config /vm_limits/memory_overhead_mib: out of range");
  }
  if (jail.cpu_quota_percent > kMaxCpuQuotaPercent) {
    return Error("host config /vm_limits/cpu_quota_percent: out of range");
  }
  // The jail's root is read-only and holds only what the launcher puts there.
  if (config.vm.serial == config::SerialOutput::kFile) {
    return Error("/serial/kind: \"file\" is not available under bulwark run (use \"stdout\")");
  }
  // The jail never runs the monitor without its seccomp policy, and the policy comes from the
  // operator (bulwark run --seccomp-policy-dir), not from the tenant's file.
  if (config.vm.seccomp != config::SeccompMode::kEnforce) {
    return Error("/seccomp: bulwark run always enforces the monitor's seccomp policy");
  }
  if (!config.vm.seccomp_policy_dir.empty()) {
    return Error("/seccomp_policy_dir: chosen by the operator (bulwark run --seccomp-policy-dir)");
  }
  if (!config.vm.devices.empty()) {
    return Error("/devices: chosen by the launcher (use \"disks\" and \"rng\")");
  }
  if (config.disks.size() > kMaxDisks) return Error("/disks: at most 8 disks");
  for (size_t i = 0; i < config.disks.size(); ++i) {
    const DiskSettings& disk = config.disks[i];
    const std::string path = config::json_pointer_child("/disks", i);
    if (Status s = config::check_required_path(disk.path); !s.ok() || disk.path.front() != '/') {
      return Error(path + "/path: expected an absolute path");
    }
    BULWARK_TRY(field(check_disk_serial(disk.serial), (path + "/serial").c_str()));
    if (disk.queues < 1 || disk.queues > kMaxDiskQueues) return Error(path + "/queues: out of range");
    if (!disk.backing.empty() && disk.format != DiskFormat::kQcow2) {
      return Error(path + "/backing: only a qcow2 image has a backing chain");
    }
    if (disk.backing.size() > kMaxBackingChain) return Error(path + "/backing: at most 16 backing images");
    for (size_t b = 0; b < disk.backing.size(); ++b) {
      const std::string member = config::json_pointer_child(path + "/backing", b);
      if (Status s = config::check_required_path(disk.backing[b].path); !s.ok() || disk.backing[b].path.front() != '/') {
        return Error(member + "/path: expected an absolute path");
      }
      if (disk.backing[b].format == DiskFormat::kRaw && b + 1 < disk.backing.size()) {
        return Error(member + ": a raw image has no backing image, so it can only be the last");
      }
      if (disk.backing[b].path == disk.path) return Error(member + "/path: the disk itself: a loop");
      for (size_t c = 0; c < b; ++c) {
        if (disk.backing[c].path == disk.backing[b].path) return Error(member + "/path: listed twice: a loop");
      }
    }
  }
  BULWARK_TRY(validate_nets(config.nets));
  if ((!config.disks.empty() || config.rng || config.tpm || !config.nets.empty()) && jail.id.size() > kMaxVmIdWithDevices) {
    return Error("--id: at most 59 characters for a VM with devices (their jails are <id>.blkN, <id>.netN)");
  }
  if (config.vsock && jail.id.size() > kMaxVmIdWithVsock) {
    return Error("--id: at most 58 characters for a VM with a vsock device (its jail is <id>.vsock)");
  }
  if (config.vsock) {
    BULWARK_TRY(field(check_vsock_uds_name(config.vsock->uds_path), "/vsock/uds_path"));
    if (config.vsock->guest_cid < kMinVsockGuestCid || config.vsock->guest_cid > kMaxVsockGuestCid) {
      return Error("/vsock/guest_cid: out of range (3 .. 4294967294)");
    }
  }
  return config::validate_vm_config(config.vm);
}

Result<LaunchConfig> parse_launch_config(std::string_view text) {
  auto prefixed = [](const Error& e) { return e.wrap("config"); };
  Result<json> root = config::parse_strict_json(text);
  if (!root.ok()) return prefixed(root.error());
  auto* members = root->get_ptr<json::object_t*>();
  if (members == nullptr) return Error("config: top level: expected an object, got " + config::describe_json_value(*root));
  for (const auto& [key, member] : *members) {
    if (is_operator_field(key)) {
      return Error("config: " + config::json_pointer_child("", key) +
                   ": an operator setting; a VM config may not set it (the host config " +
                   kDefaultHostConfigPath + " and bulwark run's flags do)");
    }
  }
  LaunchConfig launch;
  if (auto disks = members->find("disks"); disks != members->end()) {
    if (Status s = read_disks(disks->second, launch.disks); !s.ok()) return prefixed(s.error());
    members->erase(disks);
  }
  if (auto nets = members->find("nets"); nets != members->end()) {
    if (Status s = read_nets(nets->second, launch.nets); !s.ok()) return prefixed(s.error());
    members->erase(nets);
  }
  if (auto rng = members->find("rng"); rng != members->end()) {
    if (Status s = read_json_bool(rng->second, &launch.rng); !s.ok()) {
      return prefixed(s.error().wrap("/rng"));
    }
    members->erase(rng);
  }
  if (auto vsock = members->find("vsock"); vsock != members->end()) {
    VsockSettings settings;
    if (Status s = read_vsock(vsock->second, "/vsock", settings); !s.ok()) return prefixed(s.error());
    launch.vsock = std::move(settings);
    members->erase(vsock);
  }
  if (auto tpm = members->find("tpm"); tpm != members->end()) {
    if (Status s = read_json_bool(tpm->second, &launch.tpm); !s.ok()) {
      return prefixed(s.error().wrap("/tpm"));
    }
    members->erase(tpm);
  }
  // The rest is the monitor's config, read by the monitor's own parser so both agree on every
  // rule. Strings came through the strict parser, so they are valid UTF-8 and dump() is exact.
  const std::string vm_text = root->dump(-1, ' ', false, json::error_handler_t::replace);
  Result<config::VmConfig> vm = config::parse_vm_config_json(vm_text);
  if (!vm.ok()) return vm.error();
  launch.vm = std::move(*vm);
  // What a jail never lets the monitor do, whatever the operator's settings.
  if (launch.vm.serial == config::SerialOutput::kFile) {
    return Error("config: /serial/kind: \"file\" is not available under bulwark run (use \"stdout\")");
  }
  return launch;
}

namespace {

Status within_ceiling(const char* field, uint64_t value, uint64_t ceiling, const char* limit) {
  if (value <= ceiling) return ok_status();
  return Error(std::string("config: ") + field + ": " + std::to_string(value) +
               " is above the operator's ceiling " + std::to_string(ceiling) + " (vm_limits." +
               limit + ")");
}

}  // namespace

JailSettings jail_settings_from_host(const HostConfig& host, const OperatorChoices& choices) {
  const VmLimits& limits = host.vm_limits;
  JailSettings jail;
  jail.id = choices.vm_id;
  jail.uid = 0;
  jail.gid = 0;
  jail.id_range_first = host.id_range_first;
  jail.id_range_last = host.id_range_last;
  jail.selinux = host.selinux;
  jail.base_dir = host.base_dir;
  jail.cgroup_parent = host.cgroup_parent;
  jail.memory_overhead_mib = limits.memory_overhead_mib;
  jail.pids_max = limits.pids_max;
  jail.cpu_quota_percent = limits.cpu_quota_percent;
  jail.cpuset = limits.cpuset;
  jail.netns = choices.netns;
  jail.allow_device_files = host.allow_device_files;
  jail.max_disk_size_mib = limits.max_disk_size_mib;
  jail.blk_poll_us = host.blk_poll_us;
  return jail;
}

Status apply_operator_settings(const HostConfig& host, const OperatorChoices& choices,
                               LaunchConfig& config) {
  if (Status s = validate_vm_id(choices.vm_id); !s.ok()) return s.error().wrap("--id");
  if (!choices.netns.empty()) {
    bool listed = false;
    for (const std::string& name : host.network_namespaces) listed = listed || name == choices.netns;
    if (!listed) {
      return Error("--netns: " + config::quoted_text(choices.netns) +
                   " is not among the host config's network_namespaces");
    }
  }
  const VmLimits& limits = host.vm_limits;
  BULWARK_TRY(within_ceiling("/vcpus", config.vm.vcpus, limits.max_vcpus, "max_vcpus"));
  BULWARK_TRY(within_ceiling("/memory_mib", config.vm.memory_mib, limits.max_memory_mib,
                             "max_memory_mib"));
  if (config.disks.size() > limits.max_disks) {
    return Error("config: /disks: " + std::to_string(config.disks.size()) +
                 " disks is above the operator's ceiling " + std::to_string(limits.max_disks) +
                 " (vm_limits.max_disks)");
  }
  if (config.tpm && !host.tpm.enabled()) {
    return Error("config: /tpm: a TPM is not available on this host: the operator's host config has no "
                 "\"tpm\" (with its \"state_dir\")");
  }
  config.tpm_host = config.tpm ? host.tpm : TpmHostConfig{};
  if (config.vsock) BULWARK_TRY(check_vsock_against_host(host.vsock, choices.vm_id, *config.vsock));
  config.vsock_host = config.vsock ? host.vsock : VsockHostConfig{};
  config.jail = jail_settings_from_host(host, choices);
  BULWARK_TRY(apply_net_settings(host.net, choices.vm_id, choices.allowed_ips, config));
  if (Status s = validate_launch_config(config); !s.ok()) return s.error().wrap("config");
  return ok_status();
}

}  // namespace bulwark::jail
