// The JailSpec of a VM's swtpm (`swtpm socket --tpm2`), the VM's vTPM engine: a third-party
// binary jailed with the same code and steps as the device processes (device_spec.h), as far as
// they apply to a program that does not filter itself with a Bulwark policy:
//
//   jail        <base>/<vm id>.tpm/root; cgroup <parent>/<vm id>.tpm; the VM's uid/gid; new
//               mount, pid, ipc, uts and an empty network namespace; pivot_root; no /dev; no
//               capabilities in any set; no_new_privs; not dumpable
//   /swtpm      the executable (read-only); /usr/lib, /usr/lib64 its libraries (read-only)
//   /tpm        its state directory <state_dir>/<vm id>, bound read-write (nosuid, nodev,
//               noexec): the only place it can write
//   fd 3, 4     the data and control sockets, listening, made by the launcher in the VM's run
//               directory (vm_tpm.h): swtpm never binds, connects or opens a socket itself
//   seccomp     policy/seccomp/swtpm.policy, compiled by the launcher and installed just before
//               execve (so it also covers the loader); swtpm's own blacklist filter stacks on it
//
// Its argv is the launcher's alone: no field of a VM config reaches it.
#pragma once

#include <linux/filter.h>

#include <string>
#include <vector>

#include "jailer/jail_config.h"
#include "jailer/jail_spec.h"
#include "jailer/monitor_spec.h"

namespace bulwark::jail {

inline constexpr const char* kSwtpmJailPath = "/swtpm";
inline constexpr const char* kTpmStateJailPath = "/tpm";
inline constexpr const char* kSwtpmPolicyFile = "swtpm.policy";
inline constexpr int kSwtpmDataFd = 3;
inline constexpr int kSwtpmControlFd = 4;

struct TpmLaunch {
  std::string swtpm_path;  // the host's binary
  std::string state_dir;   // <state_dir>/<vm id>
  int data_fd = -1, control_fd = -1;  // listening sockets
  int null_fd = -1, stderr_fd = -1;   // stdin, and stdout/stderr (the log relay's channel or the launcher's 2)
  std::vector<sock_filter> seccomp_program;
};

JailSpec build_tpm_spec(const LaunchConfig& config, const MonitorLaunchOptions& options, const TpmLaunch& tpm);

}  // namespace bulwark::jail
