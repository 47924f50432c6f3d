// The tenant's VM config (`bulwark run vm.json`): the monitor's VM config
// (monitor/config/json_config.h, same fields, same rules) plus the devices the launcher starts.
// Tenant input, parsed by a root process: it asks only for what a tenant may choose (kernel,
// initrd, cmdline, memory_mib, vcpus, cpu_template, serial to stdout, disks, rng, nets, tpm,
// vsock), each within
// the operator's ceilings (host_config.h). Every operator setting named in it is refused by name
// (exit 1), never ignored: "jail" and its old fields (id, uid, gid, id_range, selinux, base_dir,
// cgroup_parent, memory_overhead_mib, pids_max, cpu_quota_percent, cpuset, netns), run_dir,
// cgroup_root, seccomp, seccomp_policy_dir and devices. The VM id, uid/gid and MCS pair are the
// operator's and the allocators' (bulwark run --id; the host config's ranges).
//
//   "disks": [ { "path": "/srv/images/vm-1.raw",   absolute path of the image, required
//                "format": "raw",                 optional: "raw" (default) or "qcow2"; never
//                                                 guessed from the image's bytes
//                "backing": [ {"path": "/srv/images/base.qcow2", "format": "qcow2"},
//                             {"path": "/srv/images/base.raw"} ],   optional, qcow2 only: the
//                                                 chain nearest first (at most 16, only the last
//                                                 may be raw); each header must name the next
//                "rate_limiter": {"bandwidth": {"size": BYTES, "refill_time": MS, "one_time_burst": B},
//                                 "ops": {"size": REQUESTS, "refill_time": MS}},   optional
//                "read_only": false,              optional
//                "serial": "vm-1-root",           optional, up to 20 bytes of [A-Za-z0-9_.-]
//                "queues": 1 } ],                 optional, 1 .. 8
//   "rng": true                                   a virtio-rng device (optional, default false)
//   "nets": [ { "id": "net0",                      required, 1..15 bytes of [A-Za-z0-9_-], unique
//               "mac": "52:54:00:12:34:56",       optional: unicast, not zero; absent: a stable
//                                                  locally administered MAC derived from VM id + id
//               "mtu": 1500,                       optional, 68 .. the operator's net.max_mtu
//               "queues": 1,                       optional, queue pairs, 1 .. net.max_queue_pairs
//               "rate_limiter": {                  optional, Firecracker's bucket shape, each part
//                 "rx": {"bandwidth": {"size": BYTES, "refill_time": MS, "one_time_burst": BYTES},
//                        "ops": {"size": PACKETS, "refill_time": MS}},
//                 "tx": { ... } } } ]               the same
//   "vsock": {"guest_cid": 3, "uds_path": "v.sock"}   a virtio-vsock device (optional; only when
//                                                  the host config has "vsock"): jailer/vsock_config.h
//
// At most net.max_nets NICs (0 unless the operator's host config allows them). Where a NIC's TAP
// lives (network namespace, bridge, name), which source addresses it may use (allowed_ips) and
// whether it may use VLAN tags or change its MAC are the operator's (host_config.h "net"); a
// tenant's rate limit may only be stricter than the operator's ceiling, and with no limit asked
// the ceiling applies.
//
// At most vm_limits.max_disks disks (8 at most). The image is opened as the VM user (a tenant
// cannot name a file its VM user could not open) and handed to bulwark-dev-blk as an open fd.
//
// The whole file is validated before anything is created. Errors name the JSON pointer:
// `config: /memory_mib: 4096 is above the operator's ceiling 2048 (vm_limits.max_memory_mib)`.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/common/result.h"
#include "jailer/host_config.h"
#include "jailer/vsock_config.h"
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
  uint64_t blk_poll_us = 32;  // operator: each disk device's --poll-us (host config blk_poll_us)

  friend bool operator==(const JailSettings&, const JailSettings&) = default;
};

inline constexpr size_t kMaxDisks = 8;
inline constexpr uint64_t kMaxDiskQueues = 8;
// The longest VM id that leaves room for a device's jail name ("<id>.blk7"; "<id>.vsock" one less).
inline constexpr size_t kMaxVmIdWithDevices = 59;
inline constexpr size_t kMaxVmIdWithVsock = 58;

// A token bucket (Firecracker's RateLimiter bucket): `size` tokens (bytes or packets) refilled
// over `refill_time_ms`, plus a one-time burst. size 0 = no limit in that dimension.
struct RateBucket {
  uint64_t size = 0;
  uint64_t refill_time_ms = 0;
  uint64_t one_time_burst = 0;

  bool limited() const { return size != 0; }
  friend bool operator==(const RateBucket&, const RateBucket&) = default;
};

inline constexpr size_t kMaxBackingChain = 16;

// How an image's bytes are read: declared by the VM config, never guessed from the content (a
// "raw" disk whose first bytes are a qcow2 header stays raw).
enum class DiskFormat { kRaw, kQcow2 };

// One image of a qcow2 disk's backing chain, as the VM config lists it (nearest first).
struct BackingImage {
  std::string path;  // absolute
  DiskFormat format = DiskFormat::kRaw;

  friend bool operator==(const BackingImage&, const BackingImage&) = default;
};

struct DiskSettings {
  std::string path;
  bool read_only = false;
  std::string serial;
  uint64_t queues = 1;
  DiskFormat format = DiskFormat::kRaw;
  // A qcow2 disk's chain (at most 16): opened read-only as the VM user and passed as fds; the
  // device checks each header names the next (devices/blk/qcow2_disk.h).
  std::vector<BackingImage> backing;
  // The tenant may slow its own disk (bytes read or written, requests): no ceiling needed.
  RateBucket rate_bytes, rate_ops;

  friend bool operator==(const DiskSettings&, const DiskSettings&) = default;
};

inline constexpr size_t kMaxNets = 8;
inline constexpr uint64_t kMaxNetQueuePairs = 8;
inline constexpr uint64_t kMinNetMtu = 68;
inline constexpr uint64_t kMaxNetMtu = 65521;  // a TAP takes 65535 minus its Ethernet header

// Per direction, from the guest's point of view: rx = toward the guest, tx = from it.
struct NetRateLimiter {
  RateBucket rx_bytes, rx_packets, tx_bytes, tx_packets;
  friend bool operator==(const NetRateLimiter&, const NetRateLimiter&) = default;
};

struct NetSettings {
  // The tenant's.
  std::string id;
  std::string mac;  // "52:54:00:12:34:56" lower case; filled from the VM id when not given
  uint64_t mtu = 1500;
  uint64_t queues = 1;  // queue pairs
  NetRateLimiter rate_limiter;
  // The operator's (apply_operator_settings): the source prefixes the device lets through
  // (empty: MAC filtering only), as parse_ip_prefix accepts them.
  std::vector<std::string> allowed_ips;

  friend bool operator==(const NetSettings&, const NetSettings&) = default;
};

// Where a VM's TAPs go, from the host config's "net" (apply_operator_settings).
struct NetPlacement {
  std::string tap_netns;  // a name in /run/netns; "" = the launcher's own namespace
  std::string bridge;     // "" = none
  std::string tap_prefix = "bw";
  bool allow_vlan = false;
  bool allow_mac_change = false;

  friend bool operator==(const NetPlacement&, const NetPlacement&) = default;
};

struct LaunchConfig {
  JailSettings jail;
  std::vector<DiskSettings> disks;
  bool rng = false;
  // The tenant's "tpm": true asks for a vTPM (swtpm, jailer/tpm_process.h); allowed only when the
  // host config has "tpm" (apply_operator_settings copies it into tpm_host).
  bool tpm = false;
  TpmHostConfig tpm_host;
  std::vector<NetSettings> nets;
  NetPlacement net_placement;
  // The tenant's "vsock" (one device per VM), allowed only when the host config has "vsock"
  // (apply_operator_settings copies it into vsock_host).
  std::optional<VsockSettings> vsock;
  VsockHostConfig vsock_host;
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
  // bulwark run --allowed-ips NIC=PREFIX[,PREFIX...]: the source prefixes of that NIC, over the
  // host config's net.allowed_ips for this VM id.
  std::map<std::string, std::vector<std::string>> allowed_ips;
};

// The jail settings of a VM from the operator's side alone (before, or without, a VM config:
// the API process of a VM configured through the API runs under them). uid/gid stay 0.
JailSettings jail_settings_from_host(const HostConfig& host, const OperatorChoices& choices);

// Fills config.jail from the host config and the operator's choices, then checks the tenant's
// requests against the operator's ceilings ("config: /vcpus: 16 is above the operator's ceiling
// 8 (vm_limits.max_vcpus)") and the whole result with validate_launch_config. A netns the host
// config does not list is refused.
Status apply_operator_settings(const HostConfig& host, const OperatorChoices& choices,
                               LaunchConfig& config);

}  // namespace bulwark::jail
