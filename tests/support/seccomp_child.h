// A seccomp policy file of policy/seccomp/ applied for real in a forked child, so a test can
// prove which system calls the policy lets through and which kill the process with SIGSYS.
#pragma once

#include <functional>
#include <span>
#include <string>

namespace bulwark::test {

// The exit code of a child whose filter could not be installed.
inline constexpr int kFilterNotInstalledExitCode = 90;
// The exit code of a child whose body returned: every call it made was allowed.
inline constexpr int kBodyReturnedExitCode = 91;

// How the child leaves after its body returns. Each policy allows only its own way out (the
// monitor's vCPU threads end with exit, every process with exit_group); leaving through a call
// the policy forbids would end in SIGSYS and make an allowed call look killed.
enum class ChildExit { kExitGroup, kExitThread };

// Compiles policy/seccomp/<policy_file> (kill-process on a violation) before forking, as the
// monitor and the device processes do; the child installs it, runs `body`, then exits with
// kBodyReturnedExitCode through `exit`. Returns the child's wait status, or -1 after a test
// failure when the policy does not load or compile or fork fails.
int run_under_seccomp_policy(const std::string& policy_file, const std::function<void()>& body,
                             ChildExit exit = ChildExit::kExitGroup);

bool killed_by_sigsys(int wait_status);

// One call a policy must refuse, named for the failure message.
struct ForbiddenCall {
  const char* name;
  std::function<void()> call;
};

// Expects each of `calls`, made in its own child under `policy_file`, to kill that child with
// SIGSYS; a failure names the policy, the call and the wait status.
void expect_each_call_killed_by_sigsys(const std::string& policy_file, std::span<const ForbiddenCall> calls,
                                       ChildExit exit = ChildExit::kExitGroup);

}  // namespace bulwark::test
