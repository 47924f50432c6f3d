// Installs a seccomp filter on the calling thread.
#pragma once

#include <linux/filter.h>

#include <span>

#include "bulwark/common/result.h"
#include "policy/seccomp_policy/policy_compiler.h"
#include "policy/seccomp_policy/seccomp_policy.h"

namespace bulwark::policy {

// Sets PR_SET_NO_NEW_PRIVS and installs `program` with seccomp(SECCOMP_SET_MODE_FILTER)
// without TSYNC: the calling thread and the threads and processes it creates from now on are
// filtered, other existing threads are not. The seccomp() call is the last system call made
// here, so the program only has to allow what the caller does afterwards. Filters stack: a
// thread that already has one must be allowed prctl and seccomp to add another.
Status install_seccomp_filter(std::span<const sock_filter> program);

// compile_seccomp_policy + install_seccomp_filter. All memory used for compiling is freed
// before the filter is installed, so nothing but the caller's own code runs under it after
// seccomp(). Compiling needs the heap and memfd_create; a thread that must not have those
// under an earlier filter can compile before and install later.
Status apply_seccomp_policy(const SeccompPolicy& policy, ViolationAction action);

// For ViolationAction::kRecord: an error unless this process is being traced (TracerPid in
// /proc/self/status), since without a tracer every filtered call would fail with ENOSYS. When
// /proc is not there (inside a jail) the launcher has checked it for its children instead.
Status check_recording_tracer();

}  // namespace bulwark::policy
