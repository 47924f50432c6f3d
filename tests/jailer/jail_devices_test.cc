// `bulwark run` with devices: each disk and the rng get their own jailed process, seen here from
// outside while they run, and a guest's I/O lands in the image through them.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>

#include "tests/integration/virtio_disk_image.h"
#include "tests/jailer/jail_fixture.h"

namespace bulwark::test {
namespace {

// The launcher's jailed children by command name (bulwark-monitor, bulwark-dev-blk,
// bulwark-dev-rng; comm holds at most 15 characters), without its unjailed helper, the log
// relay ("bulwark-logs").
std::map<std::string, pid_t> jailed_children_by_name(pid_t launcher) {
  std::map<std::string, pid_t> children;
  std::istringstream pids(read_text("/proc/" + std::to_string(launcher) + "/task/" +
                                    std::to_string(launcher) + "/children"));
  for (pid_t pid = 0; pids >> pid;) {
    const std::string name = trimmed(read_text("/proc/" + std::to_string(pid) + "/comm"));
    if (name != "bulwark-logs") children[name] = pid;
  }
  return children;
}

class JailDevicesTest : public JailTest {
 protected:
  void SetUp() override {
    JailTest::SetUp();
    image_ = dir_ + "/disk.raw";
    ASSERT_EQ(make_image(image_, kVirtioTestImageBytes, kVirtioTestImageFill), "");
    // The VM user opens it: the launcher checks that as the VM user.
    ASSERT_EQ(::chmod(image_.c_str(), 0666), 0);
  }
  std::string devices_json(bool read_only = false) const {
    return ", \"disks\": [{\"path\": \"" + image_ + "\", \"serial\": \"jail-test\"" +
           (read_only ? ", \"read_only\": true" : "") + "}], \"rng\": true";
  }
  std::string image_;
};

TEST_F(JailDevicesTest, GuestIoReachesTheImageThroughJailedDeviceProcesses) {
  ProcessResult run = run_process(
      BULWARK_JAILER,
      run_args(write_config(guest("virtio_blk"), "", devices_json())), {}, 90s);
  EXPECT_TRUE(run.exited && run.exit_code == 0) << run.describe();
  EXPECT_NE(run.out.find("VIRTIO-TEST PASS"), std::string::npos) << run.describe();
  EXPECT_NE(run.out.find("virtio-blk: id=jail-test"), std::string::npos) << run.describe();
  EXPECT_EQ(check_virtio_blk_image(image_, true), std::vector<std::string>{});
  for (const char* name : {"blk0", "rng"}) {
    EXPECT_TRUE(std::regex_search(run.err, std::regex(std::string("device ") + name +
                                                      R"( \(pid \d+\) exited with status 0; not restarted)")))
        << name << "\n" << run.describe();
  }
  expect_nothing_left();
  for (const char* name : {".blk0", ".rng"}) {
    expect_nothing_left(id_ + name);
  }
}

TEST_F(JailDevicesTest, EachDeviceRunsInItsOwnJail) {
  auto launcher = ChildProcess::start(
      BULWARK_JAILER, run_args(write_config(guest("spin"), "", devices_json())));
  ASSERT_TRUE(launcher.ok()) << launcher.error().message();
  ASSERT_TRUE(launcher->wait_for_stdout("spin: running", 60s)) << launcher->wait(1s).describe();
  const auto children = jailed_children_by_name(launcher->pid());
  ASSERT_EQ(children.size(), 3u);
  ASSERT_TRUE(children.count("bulwark-monitor") && children.count("bulwark-dev-blk") &&
              children.count("bulwark-dev-rng"));
  const pid_t monitor = children.at("bulwark-monitor");
  const std::string uid = std::to_string(vm_uid_);
  for (const char* name : {"bulwark-dev-blk", "bulwark-dev-rng"}) {
    const pid_t device = children.at(name);
    const std::string proc = "/proc/" + std::to_string(device);
    EXPECT_EQ(status_field(device, "Uid"), uid + "\t" + uid + "\t" + uid + "\t" + uid) << name;
    for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
      EXPECT_EQ(status_field(device, set), "0000000000000000") << name << " " << set;
    }
    EXPECT_EQ(status_field(device, "NoNewPrivs"), "1") << name;
    EXPECT_EQ(status_field(device, "Seccomp"), "2") << name << ": its own policy is installed";
    for (const char* ns : {"mnt", "pid", "net", "ipc", "uts"}) {
      std::error_code ec;
      const auto own = fs::read_symlink(proc + "/ns/" + ns, ec);
      EXPECT_NE(own, fs::read_symlink("/proc/self/ns/" + std::string(ns))) << name << " " << ns;
      EXPECT_NE(own, fs::read_symlink("/proc/" + std::to_string(monitor) + "/ns/" + ns))
          << name << " shares the monitor's " << ns << " namespace";
    }
    const bool blk = std::string(name) == "bulwark-dev-blk";
    EXPECT_EQ(list_dir(proc + "/root"),
              (std::set<std::string>{blk ? "bulwark-dev-blk" : "bulwark-dev-rng", "lib", "lib64",
                                     "seccomp", "usr"}))
        << name << ": no /dev at all";
    const std::string cgroups = read_text(proc + "/cgroup");
    const std::string leaf = cgroup_parent_ + "/" + id_ + (blk ? ".blk0" : ".rng");
    EXPECT_NE(cgroups.find("memory:/" + leaf + "\n"), std::string::npos) << name << "\n" << cgroups;
    if (blk) {
      std::error_code ec;
      EXPECT_EQ(fs::read_symlink(proc + "/fd/4", ec), fs::path(image_)) << "the image arrives as fd 4";
      EXPECT_NE(read_text(proc + "/limits").find("Max file size             1048576              1048576 "),
                std::string::npos)
          << "the image can never grow\n" << read_text(proc + "/limits");
    }
  }
  ASSERT_TRUE(launcher->send_signal(SIGTERM).ok());
  ProcessResult run = launcher->wait(30s);
  EXPECT_TRUE(run.exited && run.exit_code == 8) << run.describe();
  expect_nothing_left();
  expect_nothing_left(id_ + ".blk0");
  expect_nothing_left(id_ + ".rng");
}

TEST_F(JailDevicesTest, ADiskTheVmUserCannotOpenIsRefusedBeforeAnythingRuns) {
  ASSERT_EQ(::chmod(image_.c_str(), 0600), 0);  // root's alone
  ProcessResult run = run_process(
      BULWARK_JAILER,
      run_args(write_config(guest("virtio_blk"), "", devices_json())), {}, 60s);
  EXPECT_TRUE(run.exited && run.exit_code == 9) << run.describe();
  const std::string uid = std::to_string(vm_uid_);
  EXPECT_NE(run.err.find("jail step disks: /disks/0: \"" + image_ + "\" (opened as uid " + uid + ", gid " + uid +
                         ", no supplementary groups): Permission denied"),
            std::string::npos)
      << run.describe();
  expect_nothing_left();
  expect_nothing_left(id_ + ".blk0");
}

}  // namespace
}  // namespace bulwark::test
