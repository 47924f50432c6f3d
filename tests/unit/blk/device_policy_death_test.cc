// The device processes' seccomp policies, applied in a forked child: the calls a compromised
// device would want first (open another file, a socket, run a program, trace the monitor)
// kill it with SIGSYS; the calls it needs do not.
#include <fcntl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <csignal>
#include <functional>
#include <string>

#include "policy/seccomp_policy/policy_apply.h"
#include "policy/seccomp_policy/policy_compiler.h"
#include "policy/seccomp_policy/policy_loader.h"

namespace bulwark::test {
namespace {

int run_under_policy(const std::string& file, const std::function<void()>& body) {
  auto policy = policy::load_seccomp_policy_file(std::string(BULWARK_SECCOMP_POLICY_DIR) + "/" + file);
  if (!policy.ok()) {
    ADD_FAILURE() << policy.error().message();
    return -1;
  }
  auto program = policy::compile_seccomp_policy(*policy, policy::ViolationAction::kKillProcess);
  if (!program.ok()) {
    ADD_FAILURE() << program.error().message();
    return -1;
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (!policy::install_seccomp_filter(*program).ok()) ::_exit(90);
    body();
    ::syscall(SYS_exit_group, 91);  // the call was allowed
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

struct Forbidden {
  const char* name;
  std::function<void()> call;
};

const Forbidden kForbidden[] = {
    {"openat", [] { ::syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY); }},
    {"open", [] { ::syscall(SYS_open, "/etc/passwd", O_RDONLY); }},
    {"socket", [] { ::syscall(SYS_socket, AF_INET, SOCK_STREAM, 0); }},
    {"execve", [] { ::syscall(SYS_execve, "/bin/true", nullptr, nullptr); }},
    {"ptrace", [] { ::syscall(SYS_ptrace, PTRACE_ATTACH, ::getppid(), 0, 0); }},
    {"kill of the monitor (signal 0: a probe)", [] { ::syscall(SYS_kill, ::getppid(), 0); }},
    {"fallocate that grows the image", [] { ::syscall(SYS_fallocate, 0, 0, 0, 4096); }},
    {"mmap of executable memory", [] { ::syscall(SYS_mmap, 0, 4096, 5 /*READ|EXEC*/, 0x22, -1, 0); }},
    {"clone", [] { ::syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0); }},
};

class DevicePolicyDeathTest : public ::testing::TestWithParam<const char*> {};

TEST_P(DevicePolicyDeathTest, ForbiddenCallsKillWithSigsys) {
  for (const Forbidden& forbidden : kForbidden) {
    const int status = run_under_policy(GetParam(), forbidden.call);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
        << GetParam() << ": " << forbidden.name << " was not killed (wait status " << status << ")";
  }
}

TEST_P(DevicePolicyDeathTest, AllowedCallsKeepTheProcessAlive) {
  const int status = run_under_policy(GetParam(), [] {
    ::syscall(SYS_close, 1000);
    ::syscall(SYS_exit_group, 0);
  });
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << GetParam() << ": wait status " << status;
}

INSTANTIATE_TEST_SUITE_P(Devices, DevicePolicyDeathTest, ::testing::Values("dev-blk.policy", "dev-rng.policy"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return std::string(info.param).find("blk") != std::string::npos ? "Blk" : "Rng";
                         });

TEST(DevicePolicy, BlkMayPunchAndZeroButRngMayNotTouchFiles) {
  const auto punch = [] { ::syscall(SYS_fallocate, 1000, 3 /*PUNCH_HOLE|KEEP_SIZE*/, 0, 4096); ::syscall(SYS_exit_group, 0); };
  const int blk = run_under_policy("dev-blk.policy", punch);
  EXPECT_TRUE(WIFEXITED(blk) && WEXITSTATUS(blk) == 0) << blk;
  const int rng = run_under_policy("dev-rng.policy", punch);
  EXPECT_TRUE(WIFSIGNALED(rng) && WTERMSIG(rng) == SIGSYS) << rng;
}

}  // namespace
}  // namespace bulwark::test
