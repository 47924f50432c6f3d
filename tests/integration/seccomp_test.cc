// The monitor's seccomp policies, seen from outside: every thread of a running monitor is
// filtered, and each policy file, applied in a forked child, kills a process that steps
// outside it (the calls a compromised monitor would want first).
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <linux/kvm.h>
#include <sys/mman.h>
#include <signal.h>
#include <string>

#include "monitor/vmm/exit_codes.h"
#include "tests/integration/guest_test_support.h"
#include "tests/support/seccomp_child.h"

namespace bulwark::test {
namespace {

using namespace std::chrono_literals;
using SeccompTest = GuestTest;

// "Seccomp:" and "Seccomp_filters:" of one thread, from /proc.
std::string seccomp_status(const std::filesystem::path& status_file) {
  std::ifstream in(status_file);
  std::string line, result;
  while (std::getline(in, line)) {
    if (line.rfind("Seccomp:", 0) == 0 || line.rfind("Seccomp_filters:", 0) == 0) result += line + ";";
  }
  return result;
}

TEST_F(SeccompTest, EveryThreadOfARunningMonitorIsInFilterMode) {
  auto child = ChildProcess::start(monitor_path(), guest_args("spin", {"--vcpus", "2"}));
  ASSERT_TRUE(child.ok()) << child.error().message();
  ASSERT_TRUE(child->wait_for_stdout("spin: running\n", 60s)) << child->wait(1s).describe();
  // The main thread installs its filter right after starting the vCPU threads.
  std::this_thread::sleep_for(200ms);
  int threads = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(child->pid()) + "/task")) {
    const std::string status = seccomp_status(task.path() / "status");
    EXPECT_NE(status.find("Seccomp:\t2;"), std::string::npos) << task.path() << ": " << status;
    EXPECT_EQ(status.find("Seccomp_filters:\t0;"), std::string::npos) << task.path() << ": " << status;
    ++threads;
  }
  EXPECT_GE(threads, 3) << "main thread and two vCPU threads";
  ASSERT_TRUE(child->send_signal(SIGTERM).ok());
  ProcessResult run = child->wait(10s);
  EXPECT_TRUE(run.exited && run.exit_code == vmm::kExitStoppedBySignal) << run.describe();
}

// A vCPU thread ends with exit, the main thread with exit_group: each policy has only its own.
ChildExit exit_of(const std::string& policy_file) {
  return policy_file.find("vcpu") != std::string::npos ? ChildExit::kExitThread : ChildExit::kExitGroup;
}

const ForbiddenCall kForbiddenCalls[] = {
    {"execve", [] { char* argv[] = {const_cast<char*>("/bin/true"), nullptr}; ::execve("/bin/true", argv, nullptr); }},
    {"socket", [] { ::syscall(SYS_socket, AF_INET, SOCK_STREAM, 0); }},
    {"openat", [] { ::syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY); }},
    {"ptrace", [] { ::syscall(SYS_ptrace, PTRACE_ATTACH, 1, 0, 0); }},
    {"mount", [] { ::syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, nullptr); }},
    {"clone (a new thread or process)", [] { ::syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0); }},
    {"mmap of executable memory",
     [] { ::syscall(SYS_mmap, 0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); }},
    {"ioctl KVM_CREATE_VM", [] { ::syscall(SYS_ioctl, 0, KVM_CREATE_VM, 0); }},
    {"kill of another process", [] { ::syscall(SYS_kill, 1, 0); }},
};

class PolicyDeathTest : public ::testing::TestWithParam<const char*> {};

TEST_P(PolicyDeathTest, EveryCallOutsideThePolicyKillsWithSigsys) {
  expect_each_call_killed_by_sigsys(GetParam(), kForbiddenCalls, exit_of(GetParam()));
}

TEST_P(PolicyDeathTest, AnAllowedCallKeepsTheProcessAlive) {
  const ChildExit exit = exit_of(GetParam());
  const long exit_call = exit == ChildExit::kExitThread ? SYS_exit : SYS_exit_group;
  const int status = run_under_seccomp_policy(
      GetParam(),
      [exit_call] {
        ::syscall(SYS_getpid);
        ::syscall(exit_call, 0);
      },
      exit);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << GetParam() << ": wait status " << status;
}

INSTANTIATE_TEST_SUITE_P(MonitorPolicies, PolicyDeathTest,
                         ::testing::Values("monitor-main.policy", "monitor-vcpu.policy"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return std::string(info.param).find("main") != std::string::npos ? "MainThread"
                                                                                             : "VcpuThread";
                         });

}  // namespace
}  // namespace bulwark::test
