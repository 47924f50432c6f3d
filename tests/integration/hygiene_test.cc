// The monitor's hygiene towards the host and the tenant: a host resource that runs out is a
// documented exit code with the resource named (never a signal death); a FIFO or device named
// as an input file is refused at once (never waited on); no message carries a tenant file's
// bytes; a path cannot split a log line.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "monitor/vmm/exit_codes.h"
#include "tests/integration/guest_test_support.h"

namespace bulwark::test {
namespace {

using namespace std::chrono_literals;
using HygieneTest = GuestTest;

// For what fails before the monitor opens /dev/kvm (the --config file): runs without KVM too.
class HygieneNoKvmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(monitor_path().empty()) << "built without the bulwark-monitor target";
    ASSERT_EQ(::access(monitor_path().c_str(), X_OK), 0) << monitor_path() << " is not executable";
  }
};

// Runs `program args...` through bash, which first runs `setup` (with "$1" the first extra
// argument, if any) and then execs the program: a limit set there is the monitor's own.
ProcessResult run_after(const std::string& setup, const std::vector<std::string>& setup_args,
                        const std::vector<std::string>& command, std::chrono::milliseconds timeout = 60s) {
  std::vector<std::string> args = {"-c", setup + " && shift " + std::to_string(setup_args.size()) + " && exec \"$@\"",
                                   "sh"};
  args.insert(args.end(), setup_args.begin(), setup_args.end());
  args.insert(args.end(), command.begin(), command.end());
  return run_process("/bin/bash", args, {}, timeout);
}

std::vector<std::string> monitor_command(const std::vector<std::string>& args) {
  std::vector<std::string> command = {monitor_path()};
  command.insert(command.end(), args.begin(), args.end());
  return command;
}

// A pids cgroup of our own (cgroup v1's pids hierarchy, or cgroup v2 with the pids controller
// enabled for children of the root); empty when this host has neither.
class PidsCgroup {
 public:
  PidsCgroup() {
    const std::string name = "bulwark-test-pids-" + std::to_string(::getpid());
    for (const char* root : {"/sys/fs/cgroup/pids", "/sys/fs/cgroup"}) {
      if (!std::filesystem::exists(std::string(root) + "/cgroup.procs")) continue;
      const std::string dir = std::string(root) + "/" + name;
      if (::mkdir(dir.c_str(), 0755) != 0) continue;
      if (std::filesystem::exists(dir + "/pids.max")) {
        path_ = dir;
        return;
      }
      ::rmdir(dir.c_str());
    }
  }
  ~PidsCgroup() {
    if (!path_.empty()) ::rmdir(path_.c_str());
  }
  PidsCgroup(const PidsCgroup&) = delete;
  PidsCgroup& operator=(const PidsCgroup&) = delete;
  const std::string& path() const { return path_; }
  bool set_max(int max) const {
    std::ofstream out(path_ + "/pids.max");
    out << max;
    out.flush();
    return static_cast<bool>(out);
  }

 private:
  std::string path_;
};

void expect_exit_code_not_signal(const ProcessResult& run, int code) {
  EXPECT_FALSE(run.timed_out) << run.describe();
  EXPECT_EQ(run.term_signal, 0) << run.describe();
  EXPECT_TRUE(run.exited && run.exit_code == code) << "expected exit " << code << "\n" << run.describe();
}

// The jail's pids limit too small for the VM's vCPU threads: the monitor's main thread and one
// vCPU thread fit in pids.max 2, the second vCPU thread does not (std::thread throws EAGAIN).
TEST_F(HygieneTest, VcpuThreadsOverThePidsLimitExitWithResourceExhausted) {
  PidsCgroup cgroup;
  if (cgroup.path().empty()) GTEST_SKIP() << "no pids cgroup to create on this host";
  ASSERT_TRUE(cgroup.set_max(2));
  ProcessResult run = run_after("echo $$ > \"$1/cgroup.procs\"", {cgroup.path()},
                                monitor_command(guest_args("smp", {"--vcpus", "4"})));
  expect_exit_code_not_signal(run, vmm::kExitResourceExhausted);
  EXPECT_NE(run.err.find("resource exhausted: threads (the pids cgroup's pids.max or RLIMIT_NPROC): "
                         "cannot create the thread for vCPU 1 of 4: Resource temporarily unavailable"),
            std::string::npos)
      << run.describe();
  EXPECT_EQ(run.err.find("terminate called"), std::string::npos) << run.describe();
}

// RLIMIT_NOFILE so low that the kernel cannot be opened (fds 0-2 and /dev/kvm fill it). Any fd
// the test runner left open is closed first, so the limit counts the monitor's own fds.
TEST_F(HygieneTest, OpenFileLimitExitsWithResourceExhausted) {
  ProcessResult run = run_after(
      "for fd in /proc/$$/fd/*; do n=${fd##*/}; [ \"$n\" -gt 2 ] && eval \"exec $n>&-\"; done; ulimit -n 4",
      {}, monitor_command(guest_args("hello")));
  expect_exit_code_not_signal(run, vmm::kExitResourceExhausted);
  EXPECT_NE(run.err.find("resource exhausted: open files (RLIMIT_NOFILE): cannot open kernel \"" +
                         guest_path("hello") + "\": Too many open files"),
            std::string::npos)
      << run.describe();
}

// A FIFO with no writer as the kernel, the initrd or the config file: refused at once with the
// path in the message (opening it blocking would wait forever).
TEST_F(HygieneTest, FifoAsKernelInitrdOrConfigIsRefusedWithoutBlocking) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string fifo = dir.path() + "/input.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const Case cases[] = {
      {{"--kernel", fifo, "--memory", "64M"}, "kernel \"" + fifo + "\" is a FIFO, not a regular file"},
      {guest_args("hello", {"--initrd", fifo}), "initrd \"" + fifo + "\" is a FIFO, not a regular file"},
      {{"--kernel", "/dev/zero", "--memory", "64M"}, "kernel \"/dev/zero\" is a character device"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    const auto started = std::chrono::steady_clock::now();
    ProcessResult run = run_process(monitor_path(), c.args, {}, 20s);
    expect_exit_code_not_signal(run, vmm::kExitConfigError);
    EXPECT_NE(run.err.find(c.message), std::string::npos) << run.describe();
    EXPECT_LT(std::chrono::steady_clock::now() - started, 10s) << run.describe();
  }
}

TEST_F(HygieneNoKvmTest, FifoOrDeviceAsConfigIsRefusedWithoutBlocking) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string fifo = dir.path() + "/config.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string& path : {fifo, std::string("/dev/zero"), dir.path()}) {
    SCOPED_TRACE(path);
    const auto started = std::chrono::steady_clock::now();
    ProcessResult run = run_process(monitor_path(), {"--config", path}, {}, 20s);
    expect_exit_code_not_signal(run, vmm::kExitConfigError);
    EXPECT_NE(run.err.find("--config: config file \"" + path + "\" is "), std::string::npos) << run.describe();
    EXPECT_NE(run.err.find(", not a regular file"), std::string::npos) << run.describe();
    EXPECT_LT(std::chrono::steady_clock::now() - started, 10s) << run.describe();
  }
}

// A host secret named as the kernel or the config (/etc/shadow's shape): refused, and not one
// of its bytes comes back, raw or as hex.
void write_shadow_like(const std::string& path) {
  std::ofstream out(path);
  for (int i = 0; i < 20; ++i) out << "root:$y$j9T$secretsalt$hash:19000:0:99999:7:::\n";
}

void expect_no_leak(const ProcessResult& run) {
  for (const char* leak : {"root", "0x72", "72 6f", "6f6f72", "secret", "$y$"})
    EXPECT_EQ(run.err.find(leak), std::string::npos) << leak << "\n" << run.describe();
}

TEST_F(HygieneTest, KernelRefusalNeverEchoesTheFilesBytes) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string shadow = dir.path() + "/shadow";
  write_shadow_like(shadow);
  ProcessResult run = run_process(monitor_path(), {"--kernel", shadow, "--memory", "64M"}, {}, 60s);
  expect_exit_code_not_signal(run, vmm::kExitBadImage);
  EXPECT_NE(run.err.find("not an ELF vmlinux or bzImage"), std::string::npos) << run.describe();
  expect_no_leak(run);
}

TEST_F(HygieneNoKvmTest, ConfigRefusalNeverEchoesTheFilesBytes) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string shadow = dir.path() + "/shadow";
  write_shadow_like(shadow);
  ProcessResult run = run_process(monitor_path(), {"--config", shadow}, {}, 30s);
  expect_exit_code_not_signal(run, vmm::kExitConfigError);
  EXPECT_NE(run.err.find("invalid JSON: parse error at line 1"), std::string::npos) << run.describe();
  expect_no_leak(run);
}

// A path with a newline: its message stays one record, the newline escaped inside the quotes,
// so the rest of the name cannot pose as a record of its own.
void expect_one_record_with_escaped_newline(const ProcessResult& run) {
  EXPECT_NE(run.err.find("k\\nbulwark-monitor: info: the guest reset the machine\""), std::string::npos)
      << run.describe();
  std::istringstream lines(run.err);
  int records = 0;
  for (std::string line; std::getline(lines, line);) {
    EXPECT_EQ(line.rfind("bulwark-monitor: info: the guest", 0), std::string::npos) << run.describe();
    if (line.rfind("bulwark-monitor: ", 0) == 0) ++records;
  }
  EXPECT_EQ(records, 1) << run.describe();
}

TEST_F(HygieneTest, KernelPathWithNewlineStaysOneLogLine) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string evil = dir.path() + "/k\nbulwark-monitor: info: the guest reset the machine";
  ProcessResult run = run_process(monitor_path(), {"--kernel", evil, "--memory", "64M"}, {}, 30s);
  expect_exit_code_not_signal(run, vmm::kExitConfigError);
  expect_one_record_with_escaped_newline(run);
}

TEST_F(HygieneNoKvmTest, ConfigPathWithNewlineStaysOneLogLine) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string evil = dir.path() + "/k\nbulwark-monitor: info: the guest reset the machine";
  ProcessResult run = run_process(monitor_path(), {"--config", evil}, {}, 30s);
  expect_exit_code_not_signal(run, vmm::kExitConfigError);
  expect_one_record_with_escaped_newline(run);
}

}  // namespace
}  // namespace bulwark::test
