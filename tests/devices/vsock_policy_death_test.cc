// dev-vsock.policy applied in forked children: what a compromised bulwark-dev-vsock would try
// first (a network or netlink socket, a datagram unix socket, listening somewhere new,
// opening a file, tracing, running a program) kills it with SIGSYS; the calls its host side
// needs (accepting a client, a unix stream socket and its connect, SHUT_WR, the timer) do not.
#include <fcntl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/support/seccomp_child.h"

namespace bulwark::test {
namespace {

constexpr const char* kVsockPolicy = "dev-vsock.policy";
constexpr int kUnixStream = SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC;

const ForbiddenCall kVsockForbidden[] = {
    {"socket (AF_INET)", [] { ::syscall(SYS_socket, AF_INET, SOCK_STREAM, 0); }},
    {"socket (AF_INET6)", [] { ::syscall(SYS_socket, AF_INET6, kUnixStream, 0); }},
    {"socket (AF_NETLINK)", [] { ::syscall(SYS_socket, AF_NETLINK, SOCK_RAW, 0); }},
    {"socket (AF_VSOCK)", [] { ::syscall(SYS_socket, AF_VSOCK, kUnixStream, 0); }},
    {"socket (AF_UNIX datagram)", [] { ::syscall(SYS_socket, AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0); }},
    {"socket (AF_UNIX blocking)", [] { ::syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0); }},
    {"socketpair", [] {
       int pair[2];
       ::syscall(SYS_socketpair, AF_UNIX, kUnixStream, 0, pair);
     }},
    {"bind", [] { ::syscall(SYS_bind, 3, nullptr, 0); }},
    {"listen", [] { ::syscall(SYS_listen, 3, 1); }},
    {"accept4 (blocking)", [] { ::syscall(SYS_accept4, 3, nullptr, nullptr, 0); }},
    {"accept", [] { ::syscall(SYS_accept, 3, nullptr, nullptr); }},
    {"shutdown (SHUT_RD)", [] { ::syscall(SYS_shutdown, 3, SHUT_RD); }},
    {"sendto", [] { ::syscall(SYS_sendto, 3, "x", 1, 0, nullptr, 0); }},
    {"open", [] { ::syscall(SYS_open, "/etc/passwd", O_RDONLY); }},
    {"openat", [] { ::syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY); }},
    {"unlink", [] { ::syscall(SYS_unlink, "/tmp/x"); }},
    {"ptrace", [] { ::syscall(SYS_ptrace, PTRACE_ATTACH, ::getppid(), 0, 0); }},
    {"execve", [] { ::syscall(SYS_execve, "/bin/true", nullptr, nullptr); }},
    {"timerfd_create (only made at start-up)", [] { ::syscall(SYS_timerfd_create, CLOCK_MONOTONIC, 0); }},
    {"mmap of executable memory", [] { ::syscall(SYS_mmap, 0, 4096, 5 /*READ|EXEC*/, 0x22, -1, 0); }},
};

TEST(VsockDevicePolicy, ForbiddenCallsKillWithSigsys) { expect_each_call_killed_by_sigsys(kVsockPolicy, kVsockForbidden); }

TEST(VsockDevicePolicy, TheCallsTheDeviceMakesAreAllowed) {
  const int status = run_under_seccomp_policy(kVsockPolicy, [] {
    // On fds that are not open: allowed by the filter, EBADF from the kernel.
    ::syscall(SYS_accept4, 1000, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    const long fd = ::syscall(SYS_socket, AF_UNIX, kUnixStream, 0);
    ::syscall(SYS_connect, fd, nullptr, 0);
    ::syscall(SYS_shutdown, 1000, SHUT_WR);
    ::syscall(SYS_close, fd);
    ::syscall(SYS_timerfd_settime, 1000, 0, nullptr, nullptr);
    timespec now{};
    ::syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &now);
    ::syscall(SYS_recvmsg, 1000, nullptr, 0);
    ::syscall(SYS_sendmsg, 1000, nullptr, 0);
    ::syscall(SYS_exit_group, 0);
  });
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "wait status " << status;
}

}  // namespace
}  // namespace bulwark::test
