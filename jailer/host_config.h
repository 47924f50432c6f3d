// The operator's host config (default /etc/bulwark/host.json, `bulwark run --host-config PATH`):
// every setting that decides where a VM lives on the host, under which ids and within which
// limits. Root-owned input: a tenant's VM config can set none of it (jail_config.h refuses these
// names). Every field is optional; absent fields keep the built-in defaults, which are the safe
// ones (no network namespace a VM may join, no device files as disks).
//
//   {
//     "base_dir": "/srv/bulwark",          jail directories <base_dir>/<vm id>[.<device>]
//     "run_dir": "/run/bulwark",           host-wide reservations and launch records
//     "cgroup_root": "/sys/fs/cgroup",     where cgroups are mounted (v2, or v1 controllers)
//     "cgroup_parent": "bulwark",          each VM's cgroup is <cgroup_parent>/<vm id>
//     "id_range": [200000, 265535],        uid == gid of each VM, allocated from here
//     "mcs_range": [0, 1023],              sVirt categories c<first>..c<last> for MCS pairs
//     "selinux": "auto",                   "enforce" | "auto" | "off" (jailer/svirt)
//     "selinux_types": {"vm": "bulwark_vm_t", "image": "bulwark_image_t",
//                       "content": "bulwark_content_t", "jail": "bulwark_jail_t"},
//     "network_namespaces": [],            names in /run/netns that `--netns` may choose
//     "shared_image_dirs": [],             absolute directories of images many VMs may share
//                                          read-only: a read-only disk whose opened file
//                                          resolves below one gets bulwark_content_t:s0 and
//                                          may be attached by every VM at once; any other
//                                          read-only disk carries the VM's own category pair
//                                          and is refused to a second VM (at most 256 dirs,
//                                          plain components, not "/"; jailer/svirt/label_memory.h)
//     "monitor": "/usr/libexec/bulwark/bulwark-monitor",   binaries ("" = built-in default)
//     "dev_blk": "...", "dev_rng": "...", "dev_net": "...", "dev_vsock": "...",
//     "seccomp_policy_dir": "...",         the processes' policy files ("" = built-in default)
//     "allow_device_files": false,         block devices as disk images
//     "stop_grace_seconds": 10,            SIGTERM to SIGKILL on shutdown, 1..3600
//     "blk_poll_us": 32,                   bulwark-dev-blk --poll-us: how long each disk's device
//                                          busy-polls its rings before it sleeps, 0..1000 us
//                                          (0 = never; devices/blk/README.md, "Polling")
//     "device_restart": {                  a device process that dies is replaced (never after a
//       "max_restarts": 3,                 seccomp kill; jailer/device_supervisor.h): at most
//       "window_seconds": 600              0..100 restarts per device within 1..86400 s
//     },                                   (0 restarts: a dead device fails, as before)
//     "net": {                             where VMs' NICs go (jailer/net_config.h); absent: no NICs
//       "tap_netns": "",                   a name in /run/netns the TAPs are made in ("" = the
//                                          launcher's own namespace)
//       "bridge": "",                      a bridge in that namespace each TAP joins ("" = none)
//       "tap_prefix": "bw",                TAP names <prefix><uid>n<index>, 1..3 of [a-z0-9]
//       "max_nets": 0,                     0..8 NICs per VM
//       "max_queue_pairs": 1,              1..8
//       "max_mtu": 1500,                   68..65521 (a TAP's largest)
//       "allow_vlan": false,               let guests send 802.1Q-tagged frames
//       "allow_mac_change": false,         let guests change their MAC (control queue)
//       "rate_limit": {"rx_bytes_per_sec": 0, "tx_bytes_per_sec": 0,   ceilings per NIC and
//                      "rx_packets_per_sec": 0, "tx_packets_per_sec": 0},  direction (0 = none)
//       "allowed_ips": {"vm-1": {"net0": ["10.0.0.2/32", "fd00::2/128"]}}  source prefixes a
//                                          VM's NIC may use (absent: MAC filtering only)
//     },
//     "api": {                             the VM's REST API (bulwark run --api-sock; jailer/api)
//       "binary": "",                      bulwark-api ("" = built-in default)
//       "socket_gid": -1,                  the API socket's group (mode 0660); -1 = root only (0600)
//       "image_dirs": [],                  absolute directories API requests' kernel, initrd and
//                                          drive paths must resolve in (none: the API may not
//                                          name files; a vm.json can still be given)
//       "output_dirs": []                  the same for PUT /logger and PUT /metrics paths
//     },
//     "tpm": {"state_dir": "/var/lib/bulwark/tpm"},  VMs may have a vTPM (jailer/tpm_host_config.h);
//                                          absent: a VM config asking for one is refused
//     "vsock": {"dir": "/run/bulwark/vsock",   VMs may have a virtio-vsock device
//               "max_connections": 64,         (jailer/vsock_host_config.h): sockets in
//               "buf_alloc_bytes": 262144},    <dir>/<vm id>/; per-VM connections 1..4096,
//                                          bytes held per connection 4096..16777216; absent: a
//                                          VM config asking for one is refused
//     "vm_limits": {                       ceilings on what a VM config may ask for, and limits
//       "max_vcpus": 8,                    1..64
//       "max_memory_mib": 8192,            1..1048576 (guest RAM)
//       "max_disks": 8,                    0..8
//       "max_disk_size_mib": 1048576,      1..2^32 (an image larger than this is refused)
//       "memory_overhead_mib": 128,        0..65536: the monitor's own memory on top of RAM
//       "pids_max": 64,                    1..65536: tasks (threads count) of the monitor
//       "cpu_quota_percent": 100,          0..6400 (percent of one CPU; 0 = no quota)
//       "cpuset": ""                       CPU list ("" = inherit)
//     }
//   }
//
// Errors name the JSON pointer: `host config: /vm_limits/max_vcpus: expected an integer ...`.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "bulwark/common/result.h"
#include "jailer/tpm_host_config.h"
#include "jailer/vsock_host_config.h"

namespace bulwark::jail {

inline constexpr const char* kDefaultHostConfigPath = "/etc/bulwark/host.json";
inline constexpr uint64_t kMaxDiskSizeMibCeiling = uint64_t{1} << 32;
// bulwark-dev-blk's own default and bound for --poll-us (devices/blk/main.cc).
inline constexpr uint64_t kDefaultBlkPollUs = 32;
inline constexpr uint64_t kMaxBlkPollUs = 1000;

// The host config's "device_restart": how often one device process of a VM may be replaced.
struct DeviceRestartLimit {
  uint64_t max_restarts = 3;
  uint64_t window_seconds = 600;
  friend bool operator==(const DeviceRestartLimit&, const DeviceRestartLimit&) = default;
};
inline constexpr uint64_t kMaxDeviceRestarts = 100;
inline constexpr uint64_t kMaxDeviceRestartWindowSeconds = 86400;

// Per-VM ceilings (what a tenant may ask for at most) and the limits every VM gets.
struct VmLimits {
  uint64_t max_vcpus = 8;
  uint64_t max_memory_mib = 8192;
  uint64_t max_disks = 8;
  uint64_t max_disk_size_mib = 1048576;
  uint64_t memory_overhead_mib = 128;
  uint64_t pids_max = 64;
  uint64_t cpu_quota_percent = 100;
  std::string cpuset;

  friend bool operator==(const VmLimits&, const VmLimits&) = default;
};

// The host config's "net" (jailer/net_config.h parses it).
struct NetHostConfig {
  std::string tap_netns;
  std::string bridge;
  std::string tap_prefix = "bw";
  uint64_t max_nets = 0;
  uint64_t max_queue_pairs = 1;
  uint64_t max_mtu = 1500;
  bool allow_vlan = false;
  bool allow_mac_change = false;
  uint64_t rx_bytes_per_sec = 0, tx_bytes_per_sec = 0;
  uint64_t rx_packets_per_sec = 0, tx_packets_per_sec = 0;
  // VM id -> NIC id -> prefixes.
  std::map<std::string, std::map<std::string, std::vector<std::string>>> allowed_ips;

  friend bool operator==(const NetHostConfig&, const NetHostConfig&) = default;
};

// The host config's "api" (jailer/api/api_host_config.h parses it).
struct ApiHostConfig {
  std::string binary;  // "" = the built-in default
  int64_t socket_gid = -1;
  std::vector<std::string> image_dirs, output_dirs;

  friend bool operator==(const ApiHostConfig&, const ApiHostConfig&) = default;
};

struct HostConfig {
  std::string base_dir = "/srv/bulwark";
  std::string run_dir = "/run/bulwark";
  std::string cgroup_root = "/sys/fs/cgroup";
  std::string cgroup_parent = "bulwark";
  uint32_t id_range_first = 200000;
  uint32_t id_range_last = 265535;
  uint16_t mcs_first = 0;
  uint16_t mcs_last = 1023;
  std::string selinux = "auto";
  // sVirt type names; "" keeps the default (jailer/svirt/security_context.h).
  std::string selinux_vm_type, selinux_image_type, selinux_content_type, selinux_jail_type;
  std::vector<std::string> network_namespaces;
  std::vector<std::string> shared_image_dirs;
  // "" = the built-in default (the build's binaries and policy/seccomp).
  std::string monitor, dev_blk, dev_rng, dev_net, dev_vsock, seccomp_policy_dir;
  bool allow_device_files = false;
  uint64_t stop_grace_seconds = 10;
  uint64_t blk_poll_us = kDefaultBlkPollUs;
  DeviceRestartLimit device_restart;
  VmLimits vm_limits;
  NetHostConfig net;
  ApiHostConfig api;
  TpmHostConfig tpm;  // "tpm" (jailer/tpm_host_config.h): absent, no VM gets a TPM
  VsockHostConfig vsock;  // "vsock" (jailer/vsock_host_config.h): absent, no VM gets a vsock

  friend bool operator==(const HostConfig&, const HostConfig&) = default;
};

// Parses the whole file; unknown fields and ill-typed values are refused with their JSON path.
// Errors start with "host config: ". Pure: no system access, so it is fuzzed as it is.
Result<HostConfig> parse_host_config(std::string_view text);

// A host config list of directories (shared_image_dirs, api.image_dirs, ...): an array of at most
// `max_dirs` absolute paths of plain components, not "/". Errors name the JSON path.
Status read_absolute_dirs(const nlohmann::json& value, const std::string& path, size_t max_dirs,
                          std::vector<std::string>& dirs);

// A binary's or directory's path in the host config: "" (the built-in default) or absolute.
Status check_absolute_path(std::string_view path);

// The values in effect, one "name = value" line each (for `bulwark policy show`).
std::string describe_host_config(const HostConfig& config);

}  // namespace bulwark::jail
