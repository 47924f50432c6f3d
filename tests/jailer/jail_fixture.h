// The fixture shared by the `bulwark run` integration tests: a private directory per test
// (jail base dir, reservation run dir), configs for the test guests, /proc readers and the
// checks that a VM left nothing behind.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bulwark/common/result.h"
#include "tests/integration/monitor_process.h"

namespace bulwark::test {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

inline constexpr const char* kV1Controllers[] = {"memory", "pids", "cpu", "cpuset"};

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// The value of "Key:\t..." in /proc/<pid>/status.
inline std::string status_field(pid_t pid, const std::string& key) {
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

// The raw security.selinux value (with SELinux's trailing NUL), or nullopt when there is none.
inline std::optional<std::string> selinux_xattr(const std::string& path) {
  char value[512];
  const ssize_t n = ::lgetxattr(path.c_str(), "security.selinux", value, sizeof value);
  if (n < 0) return std::nullopt;
  return std::string(value, static_cast<size_t>(n));
}

inline std::set<std::string> list_dir(const std::string& dir) {
  std::set<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) names.insert(entry.path().filename());
  return names;
}

// Mount points in this process's mount namespace at or below `dir` (mountinfo field 5).
inline std::vector<std::string> host_mounts_under(const std::string& dir) {
  std::vector<std::string> found;
  std::istringstream mounts(read_text("/proc/self/mountinfo"));
  for (std::string line; std::getline(mounts, line);) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, target;
    fields >> id >> parent >> dev >> root >> target;
    if (target == dir || target.rfind(dir + "/", 0) == 0) found.push_back(line);
  }
  return found;
}

// The launcher's child that runs the jailed monitor (its other children are the log relay,
// device processes and helpers): the one whose argv[0] is "bulwark-monitor", waited for until it
// has exec'd (up to 10 s). -1 when there is none.
inline pid_t jailed_child_of(pid_t launcher) {
  const std::string path = "/proc/" + std::to_string(launcher) + "/task/" +
                           std::to_string(launcher) + "/children";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    std::istringstream children(read_text(path));
    for (pid_t pid; children >> pid;) {
      const std::string cmdline = read_text("/proc/" + std::to_string(pid) + "/cmdline");
      const std::string argv0 = cmdline.substr(0, cmdline.find('\0'));
      if (argv0 == "bulwark-monitor") return pid;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (std::chrono::steady_clock::now() < deadline);
  return -1;
}

// `bulwark run args...` for a launcher whose monitor is a stand-in that never opens /dev/kvm
// (tests/jailer/standin_monitor.cc). The monitor's jail gets a /dev/kvm node made from the
// host's; on a host without one, the launcher runs in a mount namespace of its own whose /dev is
// an overlay with a /dev/kvm node (10:232) added under `scratch`. The host's /dev is not
// touched, so tests that skip without KVM still do. Returns {program, args}.
inline std::pair<std::string, std::vector<std::string>> launcher_command_for_standin(
    const std::string& launcher, std::vector<std::string> args, const std::string& scratch) {
  if (::access("/dev/kvm", F_OK) == 0) return {launcher, args};
  fs::create_directories(scratch);
  args.insert(args.begin(), {"--mount", "--propagation", "private", "--", "sh", "-c",
                             "set -e; mount -t tmpfs tmpfs \"$0\"; mkdir \"$0/u\" \"$0/w\"; "
                             "mount -t overlay overlay -o lowerdir=/dev,upperdir=\"$0/u\",workdir=\"$0/w\" /dev; "
                             "mknod -m 600 /dev/kvm c 10 232; exec \"$@\"",
                             scratch, launcher});
  return {"/usr/bin/unshare", args};
}

class JailTest : public ::testing::Test {
 protected:
  void SetUp() override { prepare(true); }
  // Tests that only check refusals before anything runs do not need KVM.
  void prepare(bool needs_kvm) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    if (needs_kvm && ::access("/dev/kvm", R_OK | W_OK) != 0) GTEST_SKIP() << "no usable /dev/kvm";
    const std::string test_name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    const std::string tag = std::to_string(::getpid());
    dir_ = fs::temp_directory_path() / ("bulwark-jail-test-" + tag + "-" + test_name);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
    base_dir_ = dir_ + "/srv";
    run_dir_ = dir_ + "/run";  // private reservations: never the host's /run/bulwark
    id_ = "t" + tag;
    cgroup_parent_ = "bulwark-test-" + tag;
    // Each test process its own uid range, so tests running side by side never race for one.
    vm_uid_ = 40001 + static_cast<uint32_t>(::getpid() % 4000) * 16;
    write_host_config();
  }
  void TearDown() override {
    if (dir_.empty()) return;
    std::error_code ec;
    fs::remove_all(dir_, ec);
    for (const char* controller : kV1Controllers) {
      ::rmdir((std::string("/sys/fs/cgroup/") + controller + "/" + cgroup_parent_ + "/" + id_).c_str());
      ::rmdir((std::string("/sys/fs/cgroup/") + controller + "/" + cgroup_parent_ + "/" + second_vm_id()).c_str());
      ::rmdir((std::string("/sys/fs/cgroup/") + controller + "/" + cgroup_parent_).c_str());
    }
  }

  std::string guest(const std::string& name) const {
    return std::string(BULWARK_GUEST_DIR) + "/" + name + ".elf";
  }
  // The operator's host config of this test: its own base, run dir, cgroup parent and uid range
  // (vm_uid_ .. vm_uid_ + 15), plus `extra` top-level fields (", \"selinux\": \"off\"") and
  // `limits` inside vm_limits (", \"pids_max\": 32").
  void write_host_config(const std::string& extra = "", const std::string& limits = "") const {
    std::ofstream(host_config_path())
        << "{\"base_dir\": \"" << base_dir_ << "\", \"run_dir\": \"" << run_dir_
        << "\", \"cgroup_parent\": \"" << cgroup_parent_ << "\", \"id_range\": [" << vm_uid_
        << ", " << vm_uid_ + 15 << "]" << extra << ", \"vm_limits\": {\"max_disks\": 8" << limits
        << "}}";
  }
  std::string host_config_path() const { return dir_ + "/host.json"; }
  // The tenant's config for `kernel` (64 MiB) with `vm_extra` fields, at `path`.
  std::string write_vm_config(const std::string& path, const std::string& kernel,
                              const std::string& vm_extra = "") const {
    std::ofstream(path) << "{\"kernel\": \"" << kernel << "\", \"memory_mib\": 64" << vm_extra << "}";
    return path;
  }
  // vm.json for `kernel` with `vm_extra`, and the host config with `host_limits` in vm_limits.
  std::string write_config(const std::string& kernel, const std::string& host_limits = "",
                           const std::string& vm_extra = "") const {
    write_host_config("", host_limits);
    return write_vm_config(dir_ + "/vm.json", kernel, vm_extra);
  }
  // `bulwark run` arguments for `config` as VM `id` (default id_), under this test's host config.
  std::vector<std::string> run_args(const std::string& config, const std::vector<std::string>& options = {},
                                    const std::string& id = "") const {
    std::vector<std::string> args{"run", "--host-config", host_config_path(), "--id",
                                  id.empty() ? id_ : id};
    args.insert(args.end(), options.begin(), options.end());
    args.push_back(config);
    return args;
  }
  // `bulwark run [options...] <config>` for a config of the spin guest, returned once the guest
  // says it runs.
  Result<ChildProcess> start_spinning_vm(const std::string& config,
                                         const std::vector<std::string>& options = {},
                                         const std::string& id = "") const {
    auto vm = launch(config, options, id);
    if (!vm.ok()) return vm.error();
    BULWARK_TRY(wait_until_spinning(*vm));
    return vm;
  }

  // The VM id of the second VM in tests that run two at once.
  std::string second_vm_id() const { return id_ + "b"; }
  // Two spin guests launched at once from allocating configs (VM ids id_ and second_vm_id()),
  // returned once both run, with their jailed monitors.
  struct SpinningPair {
    ChildProcess a, b;
    pid_t monitor_a = -1, monitor_b = -1;
  };
  Result<SpinningPair> start_two_spinning_vms() const {
    auto a = launch(write_vm_config(dir_ + "/a.json", guest("spin")));
    if (!a.ok()) return a.error();
    auto b = launch(write_vm_config(dir_ + "/b.json", guest("spin")), {}, second_vm_id());
    if (!b.ok()) return b.error();
    BULWARK_TRY(wait_until_spinning(*a));
    BULWARK_TRY(wait_until_spinning(*b));
    SpinningPair pair{std::move(*a), std::move(*b)};
    pair.monitor_a = jailed_child_of(pair.a.pid());
    pair.monitor_b = jailed_child_of(pair.b.pid());
    if (pair.monitor_a <= 0 || pair.monitor_b <= 0) return Error("a launcher has no jailed monitor");
    return pair;
  }

  std::vector<std::string> cgroup_leaves(const std::string& id = "") const {
    std::vector<std::string> leaves;
    for (const char* controller : kV1Controllers) {
      leaves.push_back(std::string("/sys/fs/cgroup/") + controller + "/" + cgroup_parent_ + "/" +
                       (id.empty() ? id_ : id));
    }
    return leaves;
  }
  void expect_nothing_left(const std::string& id = "") const {
    EXPECT_FALSE(fs::exists(base_dir_ + "/" + (id.empty() ? id_ : id))) << "jail dir left behind";
    for (const std::string& leaf : cgroup_leaves(id)) EXPECT_FALSE(fs::exists(leaf)) << leaf;
    // Every reservation (uid/gid, MCS pair) was released: no lock file remains.
    EXPECT_EQ(list_dir(run_dir_ + "/ids"), std::set<std::string>{}) << "uid/gid reservation left";
    EXPECT_EQ(list_dir(run_dir_ + "/mcs"), std::set<std::string>{}) << "MCS reservation left";
    EXPECT_EQ(list_dir(run_dir_ + "/vms"), std::set<std::string>{}) << "VM id reservation or launch record left";
    // The jail's mounts lived in the monitor's mount namespace: none may reach the host's.
    EXPECT_EQ(host_mounts_under(base_dir_), std::vector<std::string>{}) << "jail mount left on the host";
  }

  std::string dir_, base_dir_, run_dir_, id_, cgroup_parent_;
  uint32_t vm_uid_ = 0;  // the first uid of this test's range: what a lone VM gets

 private:
  Result<ChildProcess> launch(const std::string& config, const std::vector<std::string>& options = {},
                              const std::string& id = "") const {
    return ChildProcess::start(BULWARK_JAILER, run_args(config, options, id));
  }
  static Status wait_until_spinning(ChildProcess& vm) {
    if (vm.wait_for_stdout("spin: running", 60s)) return ok_status();
    return Error("the guest did not start: " + vm.wait(1s).describe());
  }
};

// Launches refused before the monitor would start: root is needed, KVM is not.
class LauncherRefusalTest : public JailTest {
 protected:
  void SetUp() override { prepare(false); }
};

}  // namespace bulwark::test
