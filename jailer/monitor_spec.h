// The JailSpec for bulwark-monitor: which files it needs inside its jail, with what arguments,
// under which limits. The only place that knows the monitor's in-jail layout:
//
//   /bulwark-monitor      the executable (read-only)
//   /usr/lib, /usr/lib64  the shared libraries it links against (read-only; /lib, /lib64 link
//                         there); a statically linked monitor would not need them
//   /vm/kernel, /vm/initrd  the guest images (read-only, noexec, opened as the VM user)
//   /seccomp              its seccomp policy files (read-only)
//   /dev/kvm              owned by the VM user, 0600, on a private tmpfs
//   /vm.json              its VM config with the in-jail paths (root:<gid> 0640)
#pragma once

#include <string>
#include <vector>

#include "bulwark/common/result.h"
#include "jailer/jail_config.h"
#include "jailer/jail_spec.h"

namespace bulwark::jail {

struct MonitorLaunchOptions {
  std::string monitor_path;        // bulwark-monitor on the host
  std::string seccomp_policy_dir;  // its policy files on the host (and the devices')
  std::string dev_blk_path;        // bulwark-dev-blk on the host
  std::string dev_rng_path;        // bulwark-dev-rng on the host
  std::string dev_net_path;        // bulwark-dev-net on the host
  std::string dev_vsock_path;      // bulwark-dev-vsock on the host
  std::string cgroup_root = "/sys/fs/cgroup";
  // Decided outside the jail (the monitor cannot see /sys inside it) when the config says auto.
  bool host_is_emulated = false;
  std::vector<std::string> library_dirs = {"/usr/lib", "/usr/lib64"};
  // bulwark run --seccomp-record: the monitor and the devices install their policies in
  // record mode (every call reported to `bulwark policy record`, none refused).
  bool seccomp_record = false;
  // The launch record's hook (stale_vm.h), copied into every JailSpec of this VM.
  JailSpec::RecordHook record_created;
};

inline constexpr const char* kMonitorJailPath = "/bulwark-monitor";
inline constexpr const char* kKernelJailPath = "/vm/kernel";
inline constexpr const char* kInitrdJailPath = "/vm/initrd";
inline constexpr const char* kPolicyJailPath = "/seccomp";
inline constexpr const char* kConfigJailPath = "/vm.json";

// True when /sys/module/kvm_pvm exists (the check bulwark-monitor makes for "auto").
bool host_kvm_is_emulated();

JailSpec build_monitor_spec(const LaunchConfig& config, const MonitorLaunchOptions& options);

}  // namespace bulwark::jail
