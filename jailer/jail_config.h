// The launcher's config file: the monitor's VM config (monitor/config/json_config.h, same
// fields, same rules) plus one "jail" object the launcher consumes and never passes on:
//
//   "jail": {
//     "id": "vm-1",                    string, required: [A-Za-z0-9-], 1..64 (vm_id.h)
//     "uid": 10001, "gid": 10001,      integers 1 .. 2^31-2, optional, both or neither (never
//                                      root): reserved host-wide for this VM; when absent, a
//                                      free number from id_range is allocated as uid == gid
//     "id_range": [200000, 265535],    inclusive range for allocated ids, optional
//     "selinux": "auto",               "enforce" | "auto" | "off" (sVirt, see jailer/svirt)
//     "base_dir": "/srv/bulwark",      absolute path, optional
//     "cgroup_parent": "bulwark",      relative cgroup path, components [A-Za-z0-9_.-], optional
//     "memory_overhead_mib": 64,       integer 0 .. 65536: the monitor's own memory on top of RAM
//     "pids_max": 64,                  integer 1 .. 65536 (tasks: threads count)
//     "cpu_quota_percent": 100,        integer 0 .. 6400 (percent of one CPU; 0 = no quota)
//     "cpuset": "0-1",                 CPU list, optional ("" = inherit)
//     "netns": ""                      named network namespace in /run/netns ("" = new, empty)
//   }
//
// Devices, each served by its own jailed process (issue 4), also consumed by the launcher:
//
//   "disks": [ { "path": "/srv/images/vm-1.raw",   absolute path of a raw image, required
//                "read_only": false,              optional
//                "serial": "vm-1-root",           optional, up to 20 bytes of [A-Za-z0-9_.-]
//                "queues": 1 } ],                 optional, 1 .. 8
//   "rng": true                                   a virtio-rng device (optional, default false)
//
// At most 8 disks. The image is opened by the launcher as the VM user (a tenant cannot name a
// file its VM user could not open) and handed to bulwark-dev-blk as an open fd. A tenant's
// file may not carry the monitor's own "devices" (vhost-user sockets are the launcher's).
//
// The whole file is validated before anything is created. Errors name the JSON pointer:
// `config: /jail/uid: expected an integer from 1 to 2147483646, got 0`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/common/result.h"
#include "monitor/config/vm_config.h"

namespace bulwark::jail {

inline constexpr uint32_t kMaxVmUid = 2147483646;
inline constexpr uint64_t kMaxMemoryOverheadMib = 65536;
inline constexpr uint64_t kMaxPidsMax = 65536;
inline constexpr uint64_t kMaxCpuQuotaPercent = 6400;

struct JailSettings {
  std::string id;
  // 0 (both): allocate from id_range; otherwise both set and reserved as given.
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t id_range_first = 200000;
  uint32_t id_range_last = 265535;
  std::string selinux = "auto";  // "enforce", "auto" or "off"
  std::string base_dir = "/srv/bulwark";
  std::string cgroup_parent = "bulwark";
  uint64_t memory_overhead_mib = 64;
  uint64_t pids_max = 64;
  uint64_t cpu_quota_percent = 100;
  std::string cpuset;
  std::string netns;

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

// Errors start with "config: ".
Result<LaunchConfig> parse_launch_config(std::string_view text);

}  // namespace bulwark::jail
