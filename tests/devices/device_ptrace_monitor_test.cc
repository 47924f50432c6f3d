// A compromised bulwark-dev-blk turning on the monitor it serves: a forked child installs the
// device's real policy (policy/seccomp/dev-blk.policy, loaded and compiled by the same library
// the device uses, kill-process on violation) and calls ptrace(PTRACE_ATTACH) on a running
// bulwark-monitor that has a real bulwark-dev-blk attached. The child dies with SIGSYS; the
// monitor is not traced, still answers signals and ends cleanly; the device exits by itself.
// (tests/unit/blk/device_policy_death_test.cc covers open, socket, execve and ptrace of any
// other pid under the same policy.)
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "monitor/vmm/exit_codes.h"
#include "policy/seccomp_policy/policy_apply.h"
#include "policy/seccomp_policy/policy_compiler.h"
#include "policy/seccomp_policy/policy_loader.h"
#include "tests/devices/blk_socket_device.h"
#include "tests/integration/guest_test_support.h"
#include "tests/integration/virtio_disk_image.h"

namespace bulwark::test {
namespace {

using namespace std::chrono_literals;

// Waits for `pid` (a child of ours) at most `timeout`; SIGKILLs it past that. Returns the
// wait status, or -1 when it had to be killed.
int wait_bounded(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(10ms);
  }
  return status;
}

// The "TracerPid:" field of /proc/<pid>/status ("" when unreadable).
std::string tracer_of(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("TracerPid:", 0) == 0) return line.substr(line.find_first_not_of(" \t", 10));
  }
  return "";
}

constexpr int kExitAllowed = 91, kExitInstallFailed = 90;

class CompromisedDeviceTest : public GuestTest {};

TEST_F(CompromisedDeviceTest, DevicePolicyKillsPtraceOfTheRunningMonitor) {
  if (dev_blk_path().empty()) GTEST_SKIP() << "bulwark-dev-blk not built";
  auto policy = policy::load_seccomp_policy_file(std::string(BULWARK_SECCOMP_POLICY_DIR) + "/dev-blk.policy");
  ASSERT_TRUE(policy.ok()) << policy.error().message();
  auto program = policy::compile_seccomp_policy(*policy, policy::ViolationAction::kKillProcess);
  ASSERT_TRUE(program.ok()) << program.error().message();

  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string image = dir.path() + "/disk.img";
  ASSERT_EQ(make_image(image, kVirtioTestImageBytes, kVirtioTestImageFill), "");
  const std::string socket = dir.path() + "/blk.sock";
  auto device = start_blk_on_socket(image, socket);
  ASSERT_TRUE(device.ok()) << device.error().message();
  auto monitor = ChildProcess::start(monitor_path(), guest_args("spin", {"--vhost-user-blk", socket}));
  ASSERT_TRUE(monitor.ok()) << monitor.error().message();
  ASSERT_TRUE(monitor->wait_for_stdout("spin: running", 60s)) << monitor->wait(1s).describe();
  const pid_t monitor_pid = monitor->pid();

  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (!policy::install_seccomp_filter(*program).ok()) ::_exit(kExitInstallFailed);
    ::syscall(SYS_ptrace, PTRACE_ATTACH, monitor_pid, 0, 0);
    ::syscall(SYS_exit_group, kExitAllowed);
  }
  const int status = wait_bounded(child, 10s);
  EXPECT_TRUE(status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
      << "ptrace(PTRACE_ATTACH, monitor) under dev-blk.policy: wait status " << status
      << (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == kExitAllowed ? " (the call was allowed)" : "");

  // The monitor is untraced and still in charge: it ends on SIGTERM the way it always does.
  EXPECT_EQ(tracer_of(monitor_pid), "0");
  ASSERT_TRUE(monitor->send_signal(SIGTERM).ok());
  const ProcessResult run = monitor->wait(30s);
  EXPECT_TRUE(run.exited && run.exit_code == vmm::kExitStoppedBySignal) << run.describe();
  const ProcessResult device_end = device->wait(20s);
  EXPECT_TRUE(ended_cleanly(device_end)) << describe_device_end(device_end);
}

}  // namespace
}  // namespace bulwark::test
