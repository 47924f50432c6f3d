// policy/seccomp/api.policy: what a compromised bulwark-api would try first (open a file, make a
// socket, connect out, run a program, trace or signal another process, accept on another
// socket, pass fds) kills it with SIGSYS; the calls its event loop
// makes do not. And the real binary installs the policy it is given: with accept4 taken out of
// it, the first client kills the process.
#include <fcntl.h>
#include <poll.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <sstream>

#include "tests/support/seccomp_child.h"
#include "tests/unit/api_server/api_test_support.h"

namespace bulwark::test {
namespace {

constexpr const char* kPolicy = "api.policy";

const ForbiddenCall kForbidden[] = {
    {"openat", [] { ::syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY); }},
    {"socket", [] { ::syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0); }},
    {"connect", [] { ::syscall(SYS_connect, 4, nullptr, 0); }},
    {"execve", [] { ::syscall(SYS_execve, "/bin/true", nullptr, nullptr); }},
    {"ptrace", [] { ::syscall(SYS_ptrace, PTRACE_ATTACH, ::getppid(), 0, 0); }},
    {"kill (signal 0: a probe)", [] { ::syscall(SYS_kill, ::getppid(), 0); }},
    {"clone", [] { ::syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0); }},
    {"mmap of executable memory", [] { ::syscall(SYS_mmap, 0, 4096, 5 /*READ|EXEC*/, 0x22, -1, 0); }},
    {"accept4 on another fd", [] { ::syscall(SYS_accept4, 4, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC); }},
    {"accept4 of a blocking socket", [] { ::syscall(SYS_accept4, 3, nullptr, nullptr, SOCK_CLOEXEC); }},
    {"sendto an address", [] {
       sockaddr_un address{};
       address.sun_family = AF_UNIX;
       ::syscall(SYS_sendto, 4, "x", 1, 0, &address, sizeof address);
     }},
    {"sendmsg (could pass fds)", [] { ::syscall(SYS_sendmsg, 4, nullptr, 0); }},
    {"recvmsg (could receive fds)", [] { ::syscall(SYS_recvmsg, 4, nullptr, 0); }},
    {"bind", [] { ::syscall(SYS_bind, 3, nullptr, 0); }},
    {"fcntl", [] { ::syscall(SYS_fcntl, 3, F_GETFL); }},
};

TEST(ApiPolicy, ForbiddenCallsKillWithSigsys) { expect_each_call_killed_by_sigsys(kPolicy, kForbidden); }

TEST(ApiPolicy, TheCallsTheEventLoopMakesAreAllowed) {
  const int status = run_under_seccomp_policy(kPolicy, [] {
    // On fds that are not open (fd 3 closed first): allowed by the filter, EBADF from the kernel.
    ::syscall(SYS_close, 3);
    ::syscall(SYS_poll, nullptr, 0, 0);
    ::syscall(SYS_accept4, 3, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    ::syscall(SYS_recvfrom, 1000, nullptr, 0, 0, nullptr, nullptr);
    ::syscall(SYS_sendto, 1000, nullptr, 0, 0, nullptr, 0);
    ::syscall(SYS_write, 2, "", 0);
    timespec now{};
    ::syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &now);
  });
  EXPECT_EQ(status, kBodyReturnedExitCode << 8) << "wait status " << status;
}

// The policy directory with api.policy minus its accept4 rule (and the sanitizer runtime's
// additions, which sanitizer builds load from the same directory).
std::string policy_dir_without_accept(const TempDir& dir) {
  for (const char* name : {"api.policy", "sanitizer-runtime.policy"}) {
    std::ifstream in(std::string(BULWARK_SOURCE_POLICY_DIR) + "/" + name);
    EXPECT_TRUE(in) << name;
    std::ofstream out(dir.path() + "/" + name);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("accept4", 0) != 0) out << line << "\n";
    }
  }
  return dir.path();
}

TEST(ApiPolicy, TheBinaryIsKilledByACallItsPolicyLacks) {
  TempDir dir;
  const std::string policy_dir = policy_dir_without_accept(dir);
  const std::string socket_path = dir.path() + "/api.sock";
  UniqueFd listener = listen_at(socket_path);
  auto [launcher, api_end] = command_channel();
  auto process = ApiProcess::start({"--seccomp-policy-dir", policy_dir}, listener.get(), api_end.get());
  ASSERT_TRUE(process.ok());
  // Started and waiting: the policy loaded and the loop polls.
  EXPECT_FALSE(process->wait_exit(300ms)) << "bulwark-api exited before any client";
  TestClient c = TestClient::connect_to(socket_path);
  const auto status = process->wait_exit(5000ms);
  ASSERT_TRUE(status) << "bulwark-api accepted a client without accept4 in its policy";
  EXPECT_TRUE(killed_by_sigsys(*status)) << "wait status " << *status;
}

TEST(ApiPolicy, TheBinaryRunsWithTheRealPolicyUntilTheLauncherLeaves) {
  TempDir dir;
  const std::string socket_path = dir.path() + "/api.sock";
  UniqueFd listener = listen_at(socket_path);
  auto [launcher_end, api_end] = command_channel();
  auto process = ApiProcess::start({"--seccomp", "enforce"}, listener.get(), api_end.get());
  ASSERT_TRUE(process.ok());
  TestClient c = TestClient::connect_to(socket_path);
  ASSERT_TRUE(c.send(http_request("GET", "/version") + http_request("GET", "/nowhere")));
  ASSERT_TRUE(c.read_response());
  ASSERT_TRUE(c.read_response());
  launcher_end.reset();
  const auto status = process->wait_exit(5000ms);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << "wait status " << *status;
}

}  // namespace
}  // namespace bulwark::test
