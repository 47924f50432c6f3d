// Compiles a SeccompPolicy into a seccomp BPF program for x86-64 with libseccomp. The program
// allows exactly the policy's rules; any other call from x86-64 code gets the violation
// action, and calls through another ABI (i386 `int 0x80`, x32) always kill the process.
#pragma once

#include <linux/filter.h>

#include <vector>

#include "bulwark/common/result.h"
#include "policy/seccomp_policy/seccomp_policy.h"

namespace bulwark::policy {

enum class ViolationAction {
  kKillProcess,  // SECCOMP_RET_KILL_PROCESS: the whole process dies with SIGSYS
  kLog,          // SECCOMP_RET_LOG: the call proceeds and the kernel logs it (audit/dmesg)
  // SECCOMP_RET_TRACE, for `bulwark policy record` only: every call, allowed or not, stops
  // for the tracer with a tag naming the rule alternative that matched (policy_recording.h),
  // then proceeds. Without a tracer every call fails with ENOSYS, so check_recording_tracer()
  // first.
  kRecord,
};

// Errors name the rule, e.g. "monitor.policy:12: unknown system call 'foo' on x86-64".
// Needs memfd_create, write, fstat, pread and close (libseccomp exports through an fd).
Result<std::vector<sock_filter>> compile_seccomp_policy(const SeccompPolicy& policy,
                                                        ViolationAction action);

}  // namespace bulwark::policy
