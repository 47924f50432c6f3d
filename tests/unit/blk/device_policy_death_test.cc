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
#include <string>

#include "tests/support/seccomp_child.h"

namespace bulwark::test {
namespace {

const ForbiddenCall kForbidden[] = {
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
  expect_each_call_killed_by_sigsys(GetParam(), kForbidden);
}

TEST_P(DevicePolicyDeathTest, AllowedCallsKeepTheProcessAlive) {
  const int status = run_under_seccomp_policy(GetParam(), [] {
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
  const int blk = run_under_seccomp_policy("dev-blk.policy", punch);
  EXPECT_TRUE(WIFEXITED(blk) && WEXITSTATUS(blk) == 0) << blk;
  const int rng = run_under_seccomp_policy("dev-rng.policy", punch);
  EXPECT_TRUE(WIFSIGNALED(rng) && WTERMSIG(rng) == SIGSYS) << rng;
}

}  // namespace
}  // namespace bulwark::test
