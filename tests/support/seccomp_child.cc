#include "tests/support/seccomp_child.h"

#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "policy/seccomp_policy/policy_apply.h"
#include "policy/seccomp_policy/policy_compiler.h"
#include "policy/seccomp_policy/policy_loader.h"

namespace bulwark::test {

int run_under_seccomp_policy(const std::string& policy_file, const std::function<void()>& body, ChildExit exit) {
  auto policy = policy::load_seccomp_policy_file(std::string(BULWARK_SECCOMP_POLICY_DIR) + "/" + policy_file);
  if (!policy.ok()) {
    ADD_FAILURE() << policy.error().message();
    return -1;
  }
  auto program = policy::compile_seccomp_policy(*policy, policy::ViolationAction::kKillProcess);
  if (!program.ok()) {
    ADD_FAILURE() << program.error().message();
    return -1;
  }
  const long exit_call = exit == ChildExit::kExitThread ? SYS_exit : SYS_exit_group;
  const pid_t pid = ::fork();
  if (pid < 0) {
    ADD_FAILURE() << "fork: " << std::strerror(errno);
    return -1;
  }
  if (pid == 0) {
    if (!policy::install_seccomp_filter(*program).ok()) ::_exit(kFilterNotInstalledExitCode);
    body();
    // Raw system call: the only thread left ends the process either way.
    ::syscall(exit_call, kBodyReturnedExitCode);
    ::_exit(kBodyReturnedExitCode);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

bool killed_by_sigsys(int wait_status) {
  return wait_status != -1 && WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGSYS;
}

void expect_each_call_killed_by_sigsys(const std::string& policy_file, std::span<const ForbiddenCall> calls,
                                       ChildExit exit) {
  for (const ForbiddenCall& forbidden : calls) {
    const int status = run_under_seccomp_policy(policy_file, forbidden.call, exit);
    EXPECT_TRUE(killed_by_sigsys(status))
        << policy_file << ": " << forbidden.name << " was not killed (wait status " << status << ")";
  }
}

}  // namespace bulwark::test
