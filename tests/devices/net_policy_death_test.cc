// dev-net.policy applied in forked children: what a compromised bulwark-dev-net would try first
// (a socket of its own, opening a file or /dev/net/tun, re-pointing its TAP at another
// interface with TUNSETIFF, tracing, running a program) kills it with SIGSYS; the calls it
// needs (the offload ioctl, the rate limiter's timer) do not.
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <csignal>
#include <cstring>

#include "tests/support/seccomp_child.h"

namespace bulwark::test {
namespace {

constexpr const char* kPolicy = "dev-net.policy";

const ForbiddenCall kForbidden[] = {
    {"socket (AF_INET)", [] { ::syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0); }},
    {"socket (AF_PACKET)", [] { ::syscall(SYS_socket, AF_PACKET, SOCK_RAW, 0); }},
    {"openat /dev/net/tun", [] { ::syscall(SYS_openat, AT_FDCWD, "/dev/net/tun", O_RDWR); }},
    {"open", [] { ::syscall(SYS_open, "/etc/passwd", O_RDONLY); }},
    {"ioctl TUNSETIFF on its TAP", [] {
       ifreq request{};
       std::strcpy(request.ifr_name, "eth0");
       request.ifr_flags = IFF_TAP | IFF_NO_PI;
       ::syscall(SYS_ioctl, 4, static_cast<unsigned long>(TUNSETIFF), &request);
     }},
    {"ioctl TUNSETPERSIST", [] { ::syscall(SYS_ioctl, 4, static_cast<unsigned long>(TUNSETPERSIST), 0); }},
    {"ioctl TUNSETOWNER", [] { ::syscall(SYS_ioctl, 4, static_cast<unsigned long>(TUNSETOWNER), 0); }},
    {"ioctl TUNSETVNETHDRSZ", [] { ::syscall(SYS_ioctl, 4, static_cast<unsigned long>(TUNSETVNETHDRSZ), nullptr); }},
    {"ptrace", [] { ::syscall(SYS_ptrace, PTRACE_ATTACH, ::getppid(), 0, 0); }},
    {"execve", [] { ::syscall(SYS_execve, "/bin/true", nullptr, nullptr); }},
    {"connect", [] { ::syscall(SYS_connect, 3, nullptr, 0); }},
    {"sendto", [] { ::syscall(SYS_sendto, 3, "x", 1, 0, nullptr, 0); }},
    {"timerfd_create (only made at start-up)", [] { ::syscall(SYS_timerfd_create, CLOCK_MONOTONIC, 0); }},
    {"mmap of executable memory", [] { ::syscall(SYS_mmap, 0, 4096, 5 /*READ|EXEC*/, 0x22, -1, 0); }},
};

TEST(NetDevicePolicy, ForbiddenCallsKillWithSigsys) { expect_each_call_killed_by_sigsys(kPolicy, kForbidden); }

TEST(NetDevicePolicy, TheCallsTheDeviceMakesAreAllowed) {
  const int status = run_under_seccomp_policy(kPolicy, [] {
    // On a fd that is not open: allowed by the filter, EBADF from the kernel.
    ::syscall(SYS_ioctl, 1000, static_cast<unsigned long>(TUNSETOFFLOAD), 0);
    ::syscall(SYS_ioctl, 1000, static_cast<unsigned long>(TUNSETQUEUE), nullptr);
    ::syscall(SYS_timerfd_settime, 1000, 0, nullptr, nullptr);
    ::syscall(SYS_read, 1000, nullptr, 0);
    ::syscall(SYS_write, 1000, nullptr, 0);
    ::syscall(SYS_exit_group, 0);
  });
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "wait status " << status;
}

}  // namespace
}  // namespace bulwark::test
