#include "jailer/jail_config.h"

#include <nlohmann/json.hpp>

#include "jailer/vm_id.h"
#include "monitor/config/json_config.h"
#include "monitor/config/message_text.h"
#include "monitor/config/strict_json.h"

namespace bulwark::jail {

namespace {

using nlohmann::json;


Status read_integer(const json& value, uint64_t min, uint64_t max, uint64_t* out) {
  const auto* number = value.get_ptr<const json::number_unsigned_t*>();
  if (number != nullptr && *number >= min && *number <= max) {
    *out = *number;
    return ok_status();
  }
  return Error(config::expected_integer_text(min, max) + ", got " + config::describe_json_value(value));
}

Status read_string(const json& value, Status (*rule)(std::string_view), std::string* out) {
  const auto* text = value.get_ptr<const json::string_t*>();
  if (text == nullptr) return Error("expected a string, got " + config::describe_json_value(value));
  if (rule != nullptr) BULWARK_TRY(rule(*text));
  *out = *text;
  return ok_status();
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

// One path component of [A-Za-z0-9_.-], not "." or "..", at most 255 bytes.
bool is_plain_component(std::string_view part) {
  if (part.empty() || part.size() > 255 || part == "." || part == "..") return false;
  for (char c : part) {
    if (!is_name_char(c)) return false;
  }
  return true;
}

// [first, last] with 1 <= first <= last <= kMaxVmUid. Errors carry their full JSON path.
Status read_id_range(const json& value, const std::string& path, JailSettings& jail) {
  const auto* items = value.get_ptr<const json::array_t*>();
  if (items == nullptr || items->size() != 2) {
    return Error(path + ": expected [first, last], got " + config::describe_json_value(value));
  }
  uint64_t first = 0, last = 0;
  if (Status s = read_integer((*items)[0], 1, kMaxVmUid, &first); !s.ok()) {
    return s.error().wrap(path + "/0");
  }
  if (Status s = read_integer((*items)[1], 1, kMaxVmUid, &last); !s.ok()) {
    return s.error().wrap(path + "/1");
  }
  if (first > last) return Error(path + ": first is larger than last");
  jail.id_range_first = static_cast<uint32_t>(first);
  jail.id_range_last = static_cast<uint32_t>(last);
  return ok_status();
}

Status read_jail(const json& value, JailSettings& jail) {
  const auto* members = value.get_ptr<const json::object_t*>();
  if (members == nullptr) return Error("/jail: expected an object, got " + config::describe_json_value(value));
  bool has_id = false, has_uid = false, has_gid = false;
  for (const auto& [key, member] : *members) {
    const std::string path = config::json_pointer_child("/jail", key);
    Status status = ok_status();
    uint64_t number = 0;
    if (key == "id") {
      status = read_string(member, validate_vm_id, &jail.id);
      has_id = true;
    } else if (key == "uid" || key == "gid") {
      status = read_integer(member, 1, kMaxVmUid, &number);
      (key == "uid" ? jail.uid : jail.gid) = static_cast<uint32_t>(number);
      (key == "uid" ? has_uid : has_gid) = true;
    } else if (key == "id_range") {
      if (Status s = read_id_range(member, path, jail); !s.ok()) return s;
    } else if (key == "selinux") {
      status = read_string(member, check_selinux_mode, &jail.selinux);
    } else if (key == "base_dir") {
      status = read_string(member, check_base_dir, &jail.base_dir);
    } else if (key == "cgroup_parent") {
      status = read_string(member, check_cgroup_parent, &jail.cgroup_parent);
    } else if (key == "memory_overhead_mib") {
      status = read_integer(member, 0, kMaxMemoryOverheadMib, &jail.memory_overhead_mib);
    } else if (key == "pids_max") {
      status = read_integer(member, 1, kMaxPidsMax, &jail.pids_max);
    } else if (key == "cpu_quota_percent") {
      status = read_integer(member, 0, kMaxCpuQuotaPercent, &jail.cpu_quota_percent);
    } else if (key == "cpuset") {
      status = read_string(member, check_cpuset, &jail.cpuset);
    } else if (key == "netns") {
      status = read_string(member, check_netns_name, &jail.netns);
    } else {
      return Error(path + ": unknown field");
    }
    if (!status.ok()) return status.error().wrap(path);
  }
  if (!has_id) return Error("/jail/id: required");
  // Ids come as a pair or not at all (then both are allocated).
  if (has_uid && !has_gid) return Error("/jail/gid: required when /jail/uid is given");
  if (has_gid && !has_uid) return Error("/jail/uid: required when /jail/gid is given");
  return ok_status();
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
      status = read_string(member, config::check_required_path, &disk.path);
      if (status.ok() && disk.path.front() != '/') status = Error("expected an absolute path");
      has_path = true;
    } else if (key == "read_only") {
      const auto* flag = member.get_ptr<const json::boolean_t*>();
      if (flag == nullptr) {
        status = Error("expected true or false, got " + config::describe_json_value(member));
      } else {
        disk.read_only = *flag;
      }
    } else if (key == "serial") {
      status = read_string(member, check_disk_serial, &disk.serial);
    } else if (key == "queues") {
      status = read_integer(member, 1, kMaxDiskQueues, &disk.queues);
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
  BULWARK_TRY(field(validate_vm_id(jail.id), "/jail/id"));
  // 0 for both means "allocate"; a single 0 would be root.
  const bool allocate = jail.uid == 0 && jail.gid == 0;
  if (!allocate && (jail.uid < 1 || jail.uid > kMaxVmUid)) {
    return Error("/jail/uid: must be 1 .. 2147483646");
  }
  if (!allocate && (jail.gid < 1 || jail.gid > kMaxVmUid)) {
    return Error("/jail/gid: must be 1 .. 2147483646");
  }
  if (jail.id_range_first < 1 || jail.id_range_first > jail.id_range_last ||
      jail.id_range_last > kMaxVmUid) {
    return Error("/jail/id_range: must be [first, last] with 1 <= first <= last <= 2147483646");
  }
  BULWARK_TRY(field(check_selinux_mode(jail.selinux), "/jail/selinux"));
  BULWARK_TRY(field(check_base_dir(jail.base_dir), "/jail/base_dir"));
  BULWARK_TRY(field(check_cgroup_parent(jail.cgroup_parent), "/jail/cgroup_parent"));
  BULWARK_TRY(field(check_cpuset(jail.cpuset), "/jail/cpuset"));
  BULWARK_TRY(field(check_netns_name(jail.netns), "/jail/netns"));
  if (jail.pids_max < 1 || jail.pids_max > kMaxPidsMax) return Error("/jail/pids_max: out of range");
  if (jail.memory_overhead_mib > kMaxMemoryOverheadMib) {
    return Error("/jail/memory_overhead_mib: out of range");
  }
  if (jail.cpu_quota_percent > kMaxCpuQuotaPercent) {
    return Error("/jail/cpu_quota_percent: out of range");
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
  }
  if ((!config.disks.empty() || config.rng) && jail.id.size() > kMaxVmIdWithDevices) {
    return Error("/jail/id: at most 59 characters for a VM with devices (their jails are <id>.blkN)");
  }
  return config::validate_vm_config(config.vm);
}

Result<LaunchConfig> parse_launch_config(std::string_view text) {
  auto prefixed = [](const Error& e) { return e.wrap("config"); };
  Result<json> root = config::parse_strict_json(text);
  if (!root.ok()) return prefixed(root.error());
  auto* members = root->get_ptr<json::object_t*>();
  if (members == nullptr) return Error("config: top level: expected an object, got " + config::describe_json_value(*root));
  LaunchConfig launch;
  auto jail = members->find("jail");
  if (jail == members->end()) return Error("config: /jail: required");
  if (Status s = read_jail(jail->second, launch.jail); !s.ok()) return prefixed(s.error());
  members->erase(jail);
  if (auto disks = members->find("disks"); disks != members->end()) {
    if (Status s = read_disks(disks->second, launch.disks); !s.ok()) return prefixed(s.error());
    members->erase(disks);
  }
  if (auto rng = members->find("rng"); rng != members->end()) {
    const auto* flag = rng->second.get_ptr<const json::boolean_t*>();
    if (flag == nullptr) {
      return Error("config: /rng: expected true or false, got " + config::describe_json_value(rng->second));
    }
    launch.rng = *flag;
    members->erase(rng);
  }
  // The rest is the monitor's config, read by the monitor's own parser so both agree on every
  // rule. Strings came through the strict parser, so they are valid UTF-8 and dump() is exact.
  const std::string vm_text = root->dump(-1, ' ', false, json::error_handler_t::replace);
  Result<config::VmConfig> vm = config::parse_vm_config_json(vm_text);
  if (!vm.ok()) return vm.error();
  launch.vm = std::move(*vm);
  if (Status s = validate_launch_config(launch); !s.ok()) return prefixed(s.error());
  return launch;
}

}  // namespace bulwark::jail
