// The monitor's seccomp programs, one per thread kind, compiled from policy/seccomp/ before
// the VM runs (compiling needs system calls the policies do not allow).
#pragma once

#include <linux/filter.h>

#include <optional>
#include <vector>

#include "bulwark/common/result.h"
#include "monitor/config/vm_config.h"

namespace bulwark::vmm {

struct MonitorSeccompPrograms {
  std::vector<sock_filter> main_thread;
  std::vector<sock_filter> vcpu_thread;
};

// nullopt when config.seccomp is off. Errors name the policy file and line.
Result<std::optional<MonitorSeccompPrograms>> compile_monitor_seccomp(const config::VmConfig& config);

// The directory policies are read from when the config names none.
const char* default_seccomp_policy_dir();

}  // namespace bulwark::vmm
