// The JailSpec of a device process (bulwark-dev-blk, bulwark-dev-net, bulwark-dev-rng, bulwark-dev-vsock): the same jail code as the
// monitor, with less in it. Each device has its own jail <base>/<id>.<name>/root, its own cgroup
// <parent>/<id>.<name>, its own new (empty) network namespace and pid namespace, no /dev nodes,
// and only what it runs:
//
//   /bulwark-dev-<kind>   the executable (read-only)
//   /usr/lib, /usr/lib64  its shared libraries (read-only)
//   /seccomp              its seccomp policy files (read-only; it installs its own policy)
//
// Its vhost-user socket arrives as fd 3 and, for a disk, the image (opened by the launcher as
// the VM user) as fd 4 and a qcow2 disk's backing chain as fds 5, 6, ...; for a NIC, its TAP's queue fds (made by the launcher, jailer/net/
// tap_device.h) as fds 4, 5, ...: the process never opens a path or a device for its data. A
// disk or NIC also gets the launcher's control channel (device_control.h) as the next fd. A vsock
// device gets its listening socket <vsock.dir>/<vm id>/<uds_path> (made by the launcher,
// vm_vsock.h) as fd 4, and the VM's vsock directory <vsock.dir>/<vm id> bound read-only at
// /vsock: it connects to /vsock/<uds_path>_<port> there for a guest's connection and can
// create, remove or reach nothing else on the host.
#pragma once

#include <string>
#include <vector>

#include "jailer/jail_config.h"
#include "jailer/jail_spec.h"
#include "jailer/monitor_spec.h"

namespace bulwark::jail {

enum class DeviceKind { kBlk, kRng, kNet, kVsock };

struct DeviceLaunch {
  DeviceKind kind = DeviceKind::kBlk;
  std::string name;          // "blk0", "rng": the jail is <vm id>.<name>
  const DiskSettings* disk = nullptr;  // for kBlk
  uint64_t image_bytes = 0;  // for kBlk: RLIMIT_FSIZE, so the image can never grow
  int null_fd = -1;          // /dev/null for its stdin
  // Its fds 0, 1, 2 when the launcher relays them (stdio_relay.h under SELinux, log_relay.h for
  // stdout and stderr); each -1: stdin from null_fd, stdout or stderr the launcher's stderr.
  int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1;
  int socket_fd = -1;        // its end of the vhost-user socketpair
  int image_fd = -1;         // for kBlk
  std::vector<int> backing_fds;  // for kBlk: a qcow2 disk's chain, nearest first
  const NetSettings* net = nullptr;  // for kNet
  std::vector<int> tap_fds;  // for kNet: one per queue pair
  bool allow_vlan = false, allow_mac_change = false;  // for kNet: the operator's
  // For kBlk and kNet: its end of the launcher's control channel (run-time rate limits), passed
  // as the fd after all the others with --control-fd; -1: none. Only the launcher sets it: a
  // VM config has no field that reaches a device's command line.
  int control_fd = -1;
  // For kVsock: the tenant's settings, the VM's vsock directory on the host and the launcher's
  // listening socket of <dir>/<uds_path>; the operator's ceilings from config.vsock_host.
  const VsockSettings* vsock = nullptr;
  std::string vsock_dir;
  int listen_fd = -1;
};

inline constexpr int kDeviceSocketFd = 3;
inline constexpr int kDeviceImageFd = 4;
inline constexpr int kDeviceFirstTapFd = 4;
inline constexpr int kDeviceFirstBackingFd = 5;
inline constexpr int kDeviceListenFd = 4;  // kVsock
inline constexpr const char* kVsockJailDir = "/vsock";

// The SELinux domain of each kind (policy/selinux/bulwark.te).
const char* device_selinux_domain(DeviceKind kind);
const char* device_type_name(DeviceKind kind);  // "vhost-user-blk", "vhost-user-rng", "vhost-user-net", "vhost-user-vsock"

// What every jailed helper process of a VM (a device, bulwark-api) has in common: its jail
// <base>/<vm id>.<name>, the VM's uid/gid, a new empty network namespace, its binary, the shared
// libraries and the policy directory read-only, the VM's CPU limits, no core dumps, no memlock.
JailSpec build_helper_process_spec(const JailSettings& settings, const MonitorLaunchOptions& options,
                                   const std::string& name, const std::string& binary, const std::string& program);

JailSpec build_device_spec(const LaunchConfig& config, const MonitorLaunchOptions& options,
                           const DeviceLaunch& device);

}  // namespace bulwark::jail
