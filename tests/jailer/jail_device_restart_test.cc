// A device process that dies while its VM runs (issue 18), through the real launcher on a host
// without KVM: the stand-in monitor (standin_monitor.cc) holds the disk, the real jailed
// bulwark-dev-blk serves it, and the test kills the device from outside. SIGKILL: the launcher
// starts a fresh one (the VM's uid, a new jail) and hands its socket to the monitor
// (ReplaceDevice; the stand-in prints STANDIN-REPLACED after a GET_FEATURES round trip). SIGSYS
// (the wait status of a seccomp kill): never restarted, a SECURITY line, the monitor told to
// fail the device (STANDIN-FAILED). The operator's device_restart.max_restarts bounds restarts.
// Root needed; KVM not.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

#include <regex>

#include "bulwark/common/unique_fd.h"
#include "tests/jailer/jail_fixture.h"
#include "tests/support/shell_command.h"

namespace bulwark::test {
namespace {

class JailDeviceRestartTest : public JailTest {
 protected:
  void SetUp() override {
    prepare(false);
    if (IsSkipped()) return;
    images_ = dir_ + "/images";
    fs::create_directories(images_);
    ::chmod(images_.c_str(), 0755);
    kernel_ = images_ + "/kernel";  // never read: the stand-in monitor boots nothing
    std::ofstream(kernel_) << "not a kernel";
    ::chmod(kernel_.c_str(), 0644);
    disk_ = images_ + "/disk.raw";
    std::ofstream(disk_) << std::string(1 << 22, '\x11');
    ::chmod(disk_.c_str(), 0666);
    socket_ = dir_ + "/api.sock";
  }

  // The running VM (standin.wait) with one disk, under the host config's `host_extra` fields;
  // with `api`, its API socket too.
  Result<ChildProcess> start_vm(const std::string& host_extra = "", bool api = false,
                                const std::string& dev_blk = "") {
    write_host_config(host_extra);
    const std::string config = write_vm_config(
        dir_ + "/vm.json", kernel_, ", \"cmdline\": \"standin.wait\", \"disks\": [{\"path\": \"" + disk_ + "\"}]");
    std::vector<std::string> options{"--monitor", BULWARK_STANDIN_MONITOR};
    if (api) options.insert(options.end(), {"--api-sock", socket_});
    if (!dev_blk.empty()) options.insert(options.end(), {"--dev-blk", dev_blk});
    auto [program, args] = launcher_command_for_standin(BULWARK_JAILER, run_args(config, options), dir_ + "/dev-overlay");
    auto launcher = ChildProcess::start(program, args);
    if (!launcher.ok()) return launcher.error();
    if (!launcher->wait_for_stdout("STANDIN-RUNNING", std::chrono::seconds(60))) {
      return Error("the VM did not run: " + launcher->wait(std::chrono::seconds(5)).describe());
    }
    return launcher;
  }

  // This test's bulwark-dev-blk (or the SIGSYS stand-in for one, bound at the same path in its
  // jail): the live process of that name running as this test's VM's uid (-1: none runs).
  pid_t device_pid() const {
    for (const auto& entry : fs::directory_iterator("/proc")) {
      const std::string name = entry.path().filename();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      if (trimmed(read_text(entry.path() / "comm")) != "bulwark-dev-blk") continue;
      const pid_t pid = static_cast<pid_t>(std::stol(name));
      std::istringstream uids(status_field(pid, "Uid"));
      std::string uid;
      uids >> uid;
      if (uid != std::to_string(vm_uid_) || status_field(pid, "State").rfind("Z", 0) == 0) continue;
      return pid;
    }
    return -1;
  }

  // Waits (reading the launcher's output meanwhile) for a dev-blk other than `old` to run.
  // `tenths` of a second at most.
  pid_t wait_for_new_device(ChildProcess& launcher, pid_t old, int tenths = 150) const {
    for (int i = 0; i < tenths; ++i) {
      const pid_t pid = device_pid();
      if (pid > 0 && pid != old) return pid;
      launcher.wait_for_stdout("\x01 never printed", std::chrono::milliseconds(100));
    }
    return -1;
  }

  static std::string mount_namespace(pid_t pid) {
    std::error_code ec;
    return fs::read_symlink("/proc/" + std::to_string(pid) + "/ns/mnt", ec).string();
  }

  static size_t count(const std::string& text, const std::string& needle) {
    size_t n = 0;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
  }

  std::string images_, kernel_, disk_, socket_;
};

TEST_F(JailDeviceRestartTest, AKilledDiskDeviceIsReplacedInAFreshJailAndTheMonitorGetsItsSocket) {
  const bool api = ::access("/usr/bin/curl", X_OK) == 0;
  auto launcher = start_vm("", api);
  ASSERT_TRUE(launcher.ok()) << launcher.error().message();
  const pid_t old = device_pid();
  ASSERT_GT(old, 0) << "no bulwark-dev-blk serves the disk";
  const std::string old_namespace = mount_namespace(old);
  ASSERT_FALSE(old_namespace.empty());
  // Held open, so the dead jail's namespace (and its inode number) cannot be reused.
  UniqueFd old_namespace_fd(::open(("/proc/" + std::to_string(old) + "/ns/mnt").c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(old_namespace_fd.valid());

  ASSERT_EQ(::kill(old, SIGKILL), 0);
  ASSERT_TRUE(launcher->wait_for_stdout("STANDIN-REPLACED 0", std::chrono::seconds(30)))
      << launcher->wait(std::chrono::seconds(5)).describe();
  const pid_t replacement = wait_for_new_device(*launcher, old);
  ASSERT_GT(replacement, 0) << "no new bulwark-dev-blk on the disk";
  // The VM's own uid, in a jail of its own (not the dead one's mount namespace, nor the host's).
  std::istringstream uids(status_field(replacement, "Uid"));
  std::string real_uid;
  uids >> real_uid;
  EXPECT_EQ(real_uid, std::to_string(vm_uid_));
  const std::string new_namespace = mount_namespace(replacement);
  EXPECT_FALSE(new_namespace.empty());
  EXPECT_NE(new_namespace, old_namespace);
  EXPECT_NE(new_namespace, mount_namespace(::getpid()));
  EXPECT_EQ(::kill(launcher->pid(), 0), 0) << "the VM ended";

  if (api) {
    ShellResult metrics = run_shell("curl -s --max-time 20 --unix-socket " + socket_ + " http://localhost/metrics", 30);
    EXPECT_NE(metrics.output.find("bulwark_device_restarts_total{device=\"blk0\"} 1"), std::string::npos) << metrics.output;
    EXPECT_NE(metrics.output.find("bulwark_device_seccomp_kills_total{device=\"blk0\"} 0"), std::string::npos)
        << metrics.output;
  }

  ASSERT_TRUE(launcher->send_signal(SIGTERM).ok());
  ProcessResult run = launcher->wait(std::chrono::seconds(30));
  EXPECT_TRUE(run.exited) << run.describe();
  // The monitor's GET_FEATURES on the new socket: a disk's features (FLUSH, VERSION_1).
  std::smatch match;
  ASSERT_TRUE(std::regex_search(run.out, match, std::regex("STANDIN-REPLACED 0 features=0x([0-9a-f]+)"))) << run.out;
  const uint64_t features = std::stoull(match[1].str(), nullptr, 16);
  EXPECT_TRUE(features & (1ULL << 9)) << match[0];
  EXPECT_TRUE(features & (1ULL << 32)) << match[0];
  EXPECT_NE(run.err.find("device blk0 (pid " + std::to_string(old) + ") was killed by signal 9"), std::string::npos)
      << run.err;
  EXPECT_NE(run.err.find("device blk0 restarted as pid " + std::to_string(replacement) +
                         " (restart 1 of at most 3 in 600 s)"),
            std::string::npos)
      << run.err;
  EXPECT_EQ(run.out.find("STANDIN-FAILED"), std::string::npos) << run.out;
  expect_nothing_left();
}

TEST_F(JailDeviceRestartTest, ADiskDeviceKilledBySigsysIsNotRestartedAndIsASecurityEvent) {
  // A device that trips its seccomp filter (tests/jailer/sigsys_device.cc), as a compromised
  // one would; the kernel kills it with SIGSYS.
  auto launcher = start_vm("", false, BULWARK_SIGSYS_DEVICE);
  ASSERT_TRUE(launcher.ok()) << launcher.error().message();
  const pid_t old = device_pid();
  ASSERT_GT(old, 0);
  ASSERT_EQ(::kill(old, SIGUSR1), 0);
  ASSERT_TRUE(launcher->wait_for_stdout("STANDIN-FAILED 0", std::chrono::seconds(30)))
      << launcher->wait(std::chrono::seconds(5)).describe();
  EXPECT_EQ(wait_for_new_device(*launcher, old, 30), -1) << "restarted after a seccomp kill";
  EXPECT_EQ(::kill(launcher->pid(), 0), 0) << "the VM ended";

  ASSERT_TRUE(launcher->send_signal(SIGTERM).ok());
  ProcessResult run = launcher->wait(std::chrono::seconds(30));
  EXPECT_TRUE(run.exited) << run.describe();
  EXPECT_NE(run.err.find("SECURITY: device blk0 (pid " + std::to_string(old) + ") was killed by seccomp (SIGSYS)"),
            std::string::npos)
      << run.err;
  EXPECT_NE(run.err.find("; not restarted"), std::string::npos) << run.err;
  // The call it made, from the kernel's audit record when the launcher can read the kernel log.
  EXPECT_TRUE(run.err.find("(SIGSYS): system call getppid (110); not restarted") != std::string::npos ||
              run.err.find("(SIGSYS): system call unknown") != std::string::npos)
      << run.err;
  EXPECT_EQ(run.out.find("STANDIN-REPLACED"), std::string::npos) << run.out;
  EXPECT_EQ(run.err.find("restarted as pid"), std::string::npos) << run.err;
  expect_nothing_left();
}

TEST_F(JailDeviceRestartTest, TheOperatorsRestartLimitFailsTheDeviceAtTheThirdCrashOfTwoAllowed) {
  auto launcher = start_vm(", \"device_restart\": {\"max_restarts\": 2, \"window_seconds\": 600}");
  ASSERT_TRUE(launcher.ok()) << launcher.error().message();
  pid_t pid = device_pid();
  ASSERT_GT(pid, 0);
  for (int restart = 1; restart <= 2; ++restart) {
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    // The monitor took the new process (the stand-in's GET_FEATURES answered) before the next kill.
    ASSERT_TRUE(launcher->wait_for_stdout(" #" + std::to_string(restart) + "\n", std::chrono::seconds(30)))
        << "restart " << restart << " did not happen: " << launcher->wait(std::chrono::seconds(5)).describe();
    const pid_t next = wait_for_new_device(*launcher, pid);
    ASSERT_GT(next, 0) << "restart " << restart << " did not happen";
    pid = next;
  }
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  ASSERT_TRUE(launcher->wait_for_stdout("STANDIN-FAILED 0", std::chrono::seconds(30)))
      << launcher->wait(std::chrono::seconds(5)).describe();
  EXPECT_EQ(wait_for_new_device(*launcher, pid, 30), -1) << "restarted past the limit";

  ASSERT_TRUE(launcher->send_signal(SIGTERM).ok());
  ProcessResult run = launcher->wait(std::chrono::seconds(30));
  EXPECT_TRUE(run.exited) << run.describe();
  EXPECT_EQ(count(run.out, "STANDIN-REPLACED 0 features=0x"), 2u) << run.out;
  EXPECT_NE(run.err.find("(restart 2 of at most 2 in 600 s)"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("device blk0 not restarted: 2 restarts in the last 600 s (device_restart.max_restarts)"),
            std::string::npos)
      << run.err;
  expect_nothing_left();
}

// dev-net killed: the replacement gets the same TAP (the launcher kept its queue open), which
// therefore still exists, with the same ifindex, while no device process holds it.
TEST_F(JailDeviceRestartTest, AKilledNetDeviceIsReplacedOnTheSameTap) {
  const std::string netns = "bwjr-" + std::to_string(::getpid());
  run_shell("ip netns del " + netns + " 2>/dev/null");
  if (run_shell("ip netns add " + netns).status != 0) GTEST_SKIP() << "cannot create a network namespace";
  struct NamespaceGuard {
    std::string name;
    ~NamespaceGuard() { run_shell("ip netns del " + name); }
  } guard{netns};
  const std::string tap = "bw" + std::to_string(vm_uid_) + "n0";
  write_host_config(", \"net\": {\"tap_netns\": \"" + netns + "\", \"max_nets\": 1}");
  const std::string config = write_vm_config(
      dir_ + "/vm.json", kernel_,
      R"(, "cmdline": "standin.wait", "nets": [{"id": "net0", "mac": "52:54:00:77:00:02"}])");
  auto [program, args] = launcher_command_for_standin(
      BULWARK_JAILER, run_args(config, {"--monitor", BULWARK_STANDIN_MONITOR}), dir_ + "/dev-overlay");
  auto launcher = ChildProcess::start(program, args);
  ASSERT_TRUE(launcher.ok()) << launcher.error().message();
  ASSERT_TRUE(launcher->wait_for_stdout("STANDIN-RUNNING", std::chrono::seconds(60)))
      << launcher->wait(std::chrono::seconds(5)).describe();
  auto ifindex = [&] {
    return trimmed(run_shell("ip netns exec " + netns + " cat /sys/class/net/" + tap + "/ifindex").output);
  };
  const std::string index_before = ifindex();
  ASSERT_FALSE(index_before.empty());
  auto dev_net = [&]() -> pid_t {
    for (const auto& entry : fs::directory_iterator("/proc")) {
      const std::string name = entry.path().filename();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      if (trimmed(read_text(entry.path() / "comm")) != "bulwark-dev-net") continue;
      const pid_t pid = static_cast<pid_t>(std::stol(name));
      std::istringstream uids(status_field(pid, "Uid"));
      std::string uid;
      uids >> uid;
      if (uid == std::to_string(vm_uid_) && status_field(pid, "State").rfind("Z", 0) != 0) return pid;
    }
    return -1;
  };
  const pid_t old = dev_net();
  ASSERT_GT(old, 0);
  ASSERT_EQ(::kill(old, SIGKILL), 0);
  ASSERT_TRUE(launcher->wait_for_stdout("STANDIN-REPLACED 0", std::chrono::seconds(30)))
      << launcher->wait(std::chrono::seconds(5)).describe();
  pid_t replacement = -1;
  for (int i = 0; i < 100 && (replacement = dev_net()) == old; ++i) {
    launcher->wait_for_stdout("\x01 never printed", std::chrono::milliseconds(100));
  }
  ASSERT_GT(replacement, 0);
  ASSERT_NE(replacement, old);
  EXPECT_EQ(ifindex(), index_before) << "the TAP was made again (or is gone)";
  // The new process holds the TAP's queue (its fd 4, kDeviceFirstTapFd).
  std::error_code ec;
  EXPECT_EQ(fs::read_symlink("/proc/" + std::to_string(replacement) + "/fd/4", ec), fs::path("/dev/net/tun"));

  ASSERT_TRUE(launcher->send_signal(SIGTERM).ok());
  ProcessResult run = launcher->wait(std::chrono::seconds(30));
  EXPECT_TRUE(run.exited) << run.describe();
  std::smatch match;
  ASSERT_TRUE(std::regex_search(run.out, match, std::regex("STANDIN-REPLACED 0 features=0x([0-9a-f]+)"))) << run.out;
  EXPECT_TRUE(std::stoull(match[1].str(), nullptr, 16) & (1ULL << 5)) << "no VIRTIO_NET_F_MAC: " << match[0];
  EXPECT_NE(run.err.find("device net0 restarted as pid " + std::to_string(replacement)), std::string::npos) << run.err;
  expect_nothing_left();
}

}  // namespace
}  // namespace bulwark::test
