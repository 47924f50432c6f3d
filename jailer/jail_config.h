// The tenant's VM config (`bulwark run vm.json`): the monitor's VM config
// (monitor/config/json_config.h, same fields, same rules) plus the devices the launcher starts.
// Tenant input, parsed by a root process: it asks only for what a tenant may choose (kernel,
// initrd, cmdline, memory_mib, vcpus, cpu_template, serial to stdout, disks, rng), each within
// the operator's ceilings (host_config.h). Every operator setting named in it is refused by name
// (exit 1), never ignored: "jail" and its old fields (id, uid, gid, id_range, selinux, base_dir,
// cgroup_parent, memory_overhead_mib, pids_max, cpu_quota_percent, cpuset, netns), run_dir,
// cgroup_root, seccomp, seccomp_policy_dir and devices. The VM id, uid/gid and MCS pair are the
// operator's and the allocators' (bulwark run --id; the host config's ranges).
//
//   "disks": [ { "path": "/srv/images/vm-1.raw",   absolute path of a raw image, required
//                "read_only": false,              optional
//                "serial": "vm-1-root",           optional, up to 20 bytes of [A-Za-z0-9_.-]
//                "queues": 1 } ],                 optional, 1 .. 8
//   "rng": true                                   a virtio-rng device (optional, default false)
//
// At most vm_limits.max_disks disks (8 at most). The image is opened as the VM user (a tenant
// cannot name a file its VM user could not open) and handed to bulwark-dev-blk as an open fd.
//
// The whole file is validated before anything is created. Errors name the JSON pointer:
// `config: /memory_mib: 4096 is above the operator's ceiling 2048 (vm_limits.max_memory_mib)`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/common/result.h"
#include "jailer/host_config.h"
#include "monitor/config/vm_config.h"

namespace bulwark::jail {

inline constexpr uint32_t kMaxVmUid = 2147483646;
inline constexpr uint64_t kMaxMemoryOverheadMib = 65536;
inline constexpr uint64_t kMaxPidsMax = 65536;
inline constexpr uint64_t kMaxCpuQuotaPercent = 6400;

// The settings one VM's jail is built with, resolved from the operator's host config and flags
// (apply_operator_settings); the uid/gid are filled in by the allocator (jailer/ids).
struct JailSettings {
  std::string id;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t id_range_first = 200000;
  uint32_t id_range_last = 265535;
  std::string selinux = "auto";  // "enforce", "auto" or "off"
  std::string base_dir = "/srv/bulwark";
  std::string cgroup_parent = "bulwark";
  uint64_t memory_overhead_mib = 128;
  uint64_t pids_max = 64;
  uint64_t cpu_quota_percent = 100;
  std::string cpuset;
  std::string netns;
  bool allow_device_files = false;  // operator: block devices as disks
  uint64_t max_disk_size_mib = 1048576;

  friend bool operator==(const JailSettings&, const JailSettings&) = default;
};

inline constexpr size_t kMaxDisks = 8;
inline constexpr uint64_t kMaxDiskQueues = 8;
// The longest VM id that leaves room for a device's jail name ("<id>.blk7").
inline constexpr size_t kMaxVmIdWithDevices = 59;

struct DiskSettings {
  std::string path;
  bool read_only = false;
  std::string serial;
  uint64_t queues = 1;

  friend bool operator==(const DiskSettings&, const DiskSettings&) = default;
};

struct LaunchConfig {
  JailSettings jail;
  std::vector<DiskSettings> disks;
  bool rng = false;
  config::VmConfig vm;  // paths as the launcher sees them (outside the jail)
};

// Field rules, shared with the launcher's command-line overrides. Messages name no field.
Status check_base_dir(std::string_view dir);
Status check_cgroup_parent(std::string_view parent);
Status check_cpuset(std::string_view cpuset);
Status check_netns_name(std::string_view name);
Status check_selinux_mode(std::string_view mode);
// Rules that span fields or concern what the monitor may be asked to do inside a jail (no
// serial file, seccomp enforced, no policy dir of the tenant's choosing).
Status validate_launch_config(const LaunchConfig& config);

// The tenant's file; `jail` is left default (apply_operator_settings fills it). Errors start with
// "config: ".
Result<LaunchConfig> parse_launch_config(std::string_view text);

// What the operator decides for one launch on top of the host config: the VM id and the named
// network namespace ("" = a new, empty one), both from bulwark run's flags.
struct OperatorChoices {
  std::string vm_id;
  std::string netns;
};

// Fills config.jail from the host config and the operator's choices, then checks the tenant's
// requests against the operator's ceilings ("config: /vcpus: 16 is above the operator's ceiling
// 8 (vm_limits.max_vcpus)") and the whole result with validate_launch_config. A netns the host
// config does not list is refused.
Status apply_operator_settings(const HostConfig& host, const OperatorChoices& choices,
                               LaunchConfig& config);

}  // namespace bulwark::jail
