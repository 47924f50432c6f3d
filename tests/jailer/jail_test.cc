// `bulwark run` from the outside: a jailed test guest is inspected through /proc while it runs
// (ids, capabilities, namespaces, root contents, cgroup and limits), and every way the launcher
// ends must leave nothing behind (jail directory, cgroup directories).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/monitor_process.h"

namespace bulwark::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr uint32_t kVmUid = 40001;
constexpr uint32_t kVmGid = 40002;
const char* const kV1Controllers[] = {"memory", "pids", "cpu", "cpuset"};

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// The value of "Key:\t..." in /proc/<pid>/status.
std::string status_field(pid_t pid, const std::string& key) {
  std::istringstream lines(read_text("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(key + ":", 0) == 0) {
      std::string value = line.substr(key.size() + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      return value;
    }
  }
  return "<missing>";
}

std::set<std::string> list_dir(const std::string& dir) {
  std::set<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) names.insert(entry.path().filename());
  return names;
}

class JailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    if (::access("/dev/kvm", R_OK | W_OK) != 0) GTEST_SKIP() << "no usable /dev/kvm";
    const std::string test_name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    const std::string tag = std::to_string(::getpid());
    dir_ = fs::temp_directory_path() / ("bulwark-jail-test-" + tag + "-" + test_name);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
    base_dir_ = dir_ + "/srv";
    id_ = "t" + tag;
    cgroup_parent_ = "bulwark-test-" + tag;
  }
  void TearDown() override {
    if (dir_.empty()) return;
    std::error_code ec;
    fs::remove_all(dir_, ec);
    for (const char* controller : kV1Controllers) {
      ::rmdir((std::string("/sys/fs/cgroup/") + controller + "/" + cgroup_parent_ + "/" + id_).c_str());
      ::rmdir((std::string("/sys/fs/cgroup/") + controller + "/" + cgroup_parent_).c_str());
    }
  }

  std::string guest(const std::string& name) const {
    return std::string(BULWARK_GUEST_DIR) + "/" + name + ".elf";
  }
  // A config for `guest` with `jail_extra` appended inside the "jail" object.
  std::string write_config(const std::string& kernel, const std::string& jail_extra = "",
                           const std::string& vm_extra = "") const {
    const std::string path = dir_ + "/vm.json";
    std::ofstream(path) << "{\"kernel\": \"" << kernel << "\", \"memory_mib\": 64" << vm_extra
                        << ", \"jail\": {\"id\": \"" << id_ << "\", \"uid\": " << kVmUid
                        << ", \"gid\": " << kVmGid << ", \"base_dir\": \"" << base_dir_
                        << "\", \"cgroup_parent\": \"" << cgroup_parent_ << "\"" << jail_extra
                        << "}}";
    return path;
  }
  std::vector<std::string> cgroup_leaves() const {
    std::vector<std::string> leaves;
    for (const char* controller : kV1Controllers) {
      leaves.push_back(std::string("/sys/fs/cgroup/") + controller + "/" + cgroup_parent_ + "/" + id_);
    }
    return leaves;
  }
  void expect_nothing_left() const {
    EXPECT_FALSE(fs::exists(base_dir_ + "/" + id_)) << "jail dir left behind";
    for (const std::string& leaf : cgroup_leaves()) EXPECT_FALSE(fs::exists(leaf)) << leaf;
  }

  std::string dir_, base_dir_, id_, cgroup_parent_;
};

// The launcher's only child is the jailed monitor.
pid_t jailed_child_of(pid_t launcher) {
  const std::string path = "/proc/" + std::to_string(launcher) + "/task/" +
                           std::to_string(launcher) + "/children";
  std::istringstream children(read_text(path));
  pid_t pid = -1;
  children >> pid;
  return pid;
}

TEST_F(JailTest, SpinningMonitorIsJailedAndSigtermTearsEverythingDown) {
  const std::string config = write_config(
      guest("spin"), ", \"pids_max\": 32, \"cpu_quota_percent\": 50, \"cpuset\": \"0\", "
                     "\"memory_overhead_mib\": 96");
  auto launcher = ChildProcess::start(BULWARK_JAILER, {"run", config});
  ASSERT_TRUE(launcher.ok()) << launcher.error().message();
  ASSERT_TRUE(launcher->wait_for_stdout("spin: running", 60s)) << launcher->wait(1s).describe();
  const pid_t monitor = jailed_child_of(launcher->pid());
  ASSERT_GT(monitor, 0);
  const std::string proc = "/proc/" + std::to_string(monitor);

  // Who it runs as and what it may do.
  const std::string uid = std::to_string(kVmUid), gid = std::to_string(kVmGid);
  EXPECT_EQ(status_field(monitor, "Uid"), uid + "\t" + uid + "\t" + uid + "\t" + uid);
  EXPECT_EQ(status_field(monitor, "Gid"), gid + "\t" + gid + "\t" + gid + "\t" + gid);
  EXPECT_EQ(status_field(monitor, "Groups"), "");
  for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
    EXPECT_EQ(status_field(monitor, set), "0000000000000000") << set;
  }
  EXPECT_EQ(status_field(monitor, "NoNewPrivs"), "1");
  EXPECT_EQ(status_field(monitor, "Seccomp"), "2");

  // Its own namespaces.
  for (const char* ns : {"mnt", "pid", "net", "ipc", "uts"}) {
    std::error_code ec;
    EXPECT_NE(fs::read_symlink(proc + "/ns/" + ns, ec), fs::read_symlink("/proc/self/ns/" + std::string(ns)))
        << ns;
  }

  // Its root holds only what the jail put there, read-only.
  EXPECT_EQ(list_dir(proc + "/root"),
            (std::set<std::string>{"bulwark-monitor", "dev", "lib", "lib64", "seccomp", "usr", "vm",
                                   "vm.json"}));
  EXPECT_EQ(list_dir(proc + "/root/dev"), std::set<std::string>{"kvm"});
  EXPECT_EQ(list_dir(proc + "/root/vm"), std::set<std::string>{"kernel"});
  struct stat kvm{};
  ASSERT_EQ(::stat((proc + "/root/dev/kvm").c_str(), &kvm), 0);
  EXPECT_TRUE(S_ISCHR(kvm.st_mode));
  EXPECT_EQ(kvm.st_mode & 07777, 0600u);
  EXPECT_EQ(kvm.st_uid, kVmUid);
  std::istringstream mounts(read_text(proc + "/mountinfo"));
  bool root_read_only = false;
  for (std::string line; std::getline(mounts, line);) {
    std::istringstream fields(line);
    std::string id, parent, dev, source, target, options;
    fields >> id >> parent >> dev >> source >> target >> options;
    if (target == "/") root_read_only = options.rfind("ro,", 0) == 0;
    if (target == "/vm/kernel") {
      EXPECT_EQ(options.rfind("ro,", 0), 0u) << line;
    }
  }
  EXPECT_TRUE(root_read_only) << read_text(proc + "/mountinfo");

  // Its resource limits.
  const std::string limits = read_text(proc + "/limits");
  for (const char* line : {"Max core file size        0                    0 ",
                           "Max open files            1024                 1024 ",
                           "Max locked memory         0                    0 ",
                           "Max processes             32                   32 "}) {
    EXPECT_NE(limits.find(line), std::string::npos) << line << " in\n" << limits;
  }

  // Its cgroup, with the configured limits.
  const std::string cgroups = read_text(proc + "/cgroup");
  for (const char* controller : {"memory", "pids", "cpu", "cpuset"}) {
    EXPECT_NE(cgroups.find(std::string(controller) + ":/" + cgroup_parent_ + "/" + id_ + "\n"),
              std::string::npos)
        << controller << " in\n" << cgroups;
  }
  const std::string memory = "/sys/fs/cgroup/memory/" + cgroup_parent_ + "/" + id_;
  EXPECT_EQ(trimmed(read_text(memory + "/memory.limit_in_bytes")), std::to_string((64 + 96) << 20));
  EXPECT_EQ(trimmed(read_text("/sys/fs/cgroup/pids/" + cgroup_parent_ + "/" + id_ + "/pids.max")), "32");
  const std::string cpu = "/sys/fs/cgroup/cpu/" + cgroup_parent_ + "/" + id_;
  EXPECT_EQ(trimmed(read_text(cpu + "/cpu.cfs_quota_us")), "50000");
  EXPECT_EQ(trimmed(read_text(cpu + "/cpu.cfs_period_us")), "100000");
  EXPECT_EQ(trimmed(read_text("/sys/fs/cgroup/cpuset/" + cgroup_parent_ + "/" + id_ + "/cpuset.cpus")), "0");

  // SIGTERM to the launcher: forwarded, the monitor stops (its exit code 8), all is removed.
  ASSERT_TRUE(launcher->send_signal(SIGTERM).ok());
  ProcessResult run = launcher->wait(30s);
  EXPECT_TRUE(run.exited && run.exit_code == 8) << run.describe();
  EXPECT_NE(::kill(monitor, 0), 0);
  expect_nothing_left();
}

TEST_F(JailTest, HelloExitsZeroWithConsoleOnLauncherStdout) {
  ProcessResult run = run_process(BULWARK_JAILER, {"run", write_config(guest("hello"))}, {}, 60s);
  EXPECT_TRUE(run.exited && run.exit_code == 0) << run.describe();
  EXPECT_NE(run.out.find("Hello from Bulwark test guest"), std::string::npos) << run.describe();
  expect_nothing_left();
}

TEST_F(JailTest, MonitorKilledBySigkillGives137AndCleansUp) {
  auto launcher = ChildProcess::start(BULWARK_JAILER, {"run", write_config(guest("spin"))});
  ASSERT_TRUE(launcher.ok()) << launcher.error().message();
  ASSERT_TRUE(launcher->wait_for_stdout("spin: running", 60s)) << launcher->wait(1s).describe();
  const pid_t monitor = jailed_child_of(launcher->pid());
  ASSERT_GT(monitor, 0);
  ASSERT_EQ(::kill(monitor, SIGKILL), 0);
  ProcessResult run = launcher->wait(30s);
  EXPECT_TRUE(run.exited && run.exit_code == 128 + SIGKILL) << run.describe();
  expect_nothing_left();
}

TEST_F(JailTest, BadConfigIsRefusedBeforeAnythingIsCreated) {
  const std::string config = write_config(guest("hello"), ", \"bogus\": 1");
  ProcessResult run = run_process(BULWARK_JAILER, {"run", config}, {}, 30s);
  EXPECT_TRUE(run.exited && run.exit_code == 1) << run.describe();
  EXPECT_NE(run.err.find("config: /jail/bogus: unknown field"), std::string::npos) << run.describe();
  EXPECT_FALSE(fs::exists(base_dir_));
  for (const char* controller : kV1Controllers) {
    EXPECT_FALSE(fs::exists(std::string("/sys/fs/cgroup/") + controller + "/" + cgroup_parent_));
  }
}

TEST_F(JailTest, CommandLineOverridesAreValidatedLikeTheConfig) {
  const std::string config = write_config(guest("hello"));
  ProcessResult root = run_process(BULWARK_JAILER, {"run", "--uid", "0", config}, {}, 30s);
  EXPECT_TRUE(root.exited && root.exit_code == 1) << root.describe();
  EXPECT_NE(root.err.find("--uid: expected an integer from 1 to 2147483646, got \"0\""),
            std::string::npos)
      << root.describe();
  ProcessResult escape = run_process(BULWARK_JAILER, {"run", "--id", "../x", config}, {}, 30s);
  EXPECT_TRUE(escape.exited && escape.exit_code == 1) << escape.describe();
  EXPECT_NE(escape.err.find("/jail/id: "), std::string::npos) << escape.describe();
  EXPECT_FALSE(fs::exists(base_dir_));
  // A valid override is used: the jail appears under the overriding id.
  id_ += "-override";
  ProcessResult run = run_process(BULWARK_JAILER, {"run", "--id", id_, config}, {}, 60s);
  EXPECT_TRUE(run.exited && run.exit_code == 0) << run.describe();
  EXPECT_NE(run.err.find("VM " + id_ + ": monitor running"), std::string::npos) << run.describe();
  expect_nothing_left();
}

TEST_F(JailTest, MissingKernelFailsItsStepAndLeavesNothing) {
  const std::string missing = dir_ + "/no-such-kernel.elf";
  ProcessResult run = run_process(BULWARK_JAILER, {"run", write_config(missing)}, {}, 30s);
  EXPECT_TRUE(run.exited && run.exit_code == 9) << run.describe();
  EXPECT_NE(run.err.find("jail step jail-files: " + missing + ": No such file or directory"),
            std::string::npos)
      << run.describe();
  expect_nothing_left();
}

TEST_F(JailTest, KernelTheVmUserCannotReadIsNotExposed) {
  const std::string secret = dir_ + "/root-only.elf";
  fs::copy_file(guest("hello"), secret);
  ::chmod(secret.c_str(), 0600);
  ProcessResult run = run_process(BULWARK_JAILER, {"run", write_config(secret)}, {}, 30s);
  EXPECT_TRUE(run.exited && run.exit_code == 9) << run.describe();
  EXPECT_NE(run.err.find("jail step bind-inputs: " + secret), std::string::npos) << run.describe();
  EXPECT_NE(run.err.find("Permission denied"), std::string::npos) << run.describe();
  expect_nothing_left();
}

TEST_F(JailTest, KernelThatIsADirectoryIsNotExposed) {
  const std::string directory = dir_ + "/a-directory";
  fs::create_directory(directory);
  std::ofstream(directory + "/file") << "host data";
  ProcessResult run = run_process(BULWARK_JAILER, {"run", write_config(directory)}, {}, 30s);
  EXPECT_TRUE(run.exited && run.exit_code == 9) << run.describe();
  EXPECT_NE(run.err.find("jail step bind-inputs: " + directory + ": not a regular file"),
            std::string::npos)
      << run.describe();
  expect_nothing_left();
}

TEST_F(JailTest, CgroupStepFailureNamesTheStepAndLeavesNothing) {
  // CPU 4095 does not exist: the kernel refuses the cpuset after the cgroup was made.
  const std::string config = write_config(guest("hello"), ", \"cpuset\": \"4095\"");
  ProcessResult run = run_process(BULWARK_JAILER, {"run", config}, {}, 30s);
  EXPECT_TRUE(run.exited && run.exit_code == 9) << run.describe();
  EXPECT_NE(run.err.find("jail step cgroup: "), std::string::npos) << run.describe();
  EXPECT_NE(run.err.find("cpuset.cpus"), std::string::npos) << run.describe();
  expect_nothing_left();
}

TEST_F(JailTest, SecondVmWithTheSameIdIsRefusedAndTheFirstKeepsRunning) {
  auto first = ChildProcess::start(BULWARK_JAILER, {"run", write_config(guest("spin"))});
  ASSERT_TRUE(first.ok()) << first.error().message();
  ASSERT_TRUE(first->wait_for_stdout("spin: running", 60s)) << first->wait(1s).describe();
  ProcessResult second = run_process(BULWARK_JAILER, {"run", dir_ + "/vm.json"}, {}, 30s);
  EXPECT_TRUE(second.exited && second.exit_code == 9) << second.describe();
  EXPECT_NE(second.err.find("jail step jail-dir: "), std::string::npos) << second.describe();
  EXPECT_NE(second.err.find("already exists"), std::string::npos) << second.describe();
  EXPECT_TRUE(fs::exists(base_dir_ + "/" + id_ + "/root"));
  ASSERT_TRUE(first->send_signal(SIGINT).ok());
  ProcessResult run = first->wait(30s);
  EXPECT_TRUE(run.exited && run.exit_code == 8) << run.describe();
  expect_nothing_left();
}

}  // namespace
}  // namespace bulwark::test
