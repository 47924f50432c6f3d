// `bulwark run` with a qcow2 disk on a raw base, end to end on a host without KVM: the real
// launcher opens the overlay and its backing chain as the VM's user, locks and passes them to
// the jailed bulwark-dev-blk, which checks the overlay's header against the chain; a stand-in
// monitor (standin_monitor.cc) reads and writes through it. qemu-img/qemu-io check the files
// afterwards: the guest read the base through the overlay, its write is in the overlay, the base
// is unchanged, the overlay is clean. A header naming a file the config does not list refuses
// the disk with both names. Root and qemu-img needed; KVM not.
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <sstream>

#include "tests/jailer/jail_fixture.h"
#include "tests/support/shell_command.h"

namespace bulwark::test {
namespace {

std::pair<int, std::string> sh(const std::string& command) {
  ShellResult result = run_shell(command);
  return {result.status, result.output};
}

class JailDiskTest : public JailTest {
 protected:
  void SetUp() override {
    prepare(false);
    if (IsSkipped()) return;
    if (!have_qemu_tools()) GTEST_SKIP() << "needs qemu-img and qemu-io";
    images_ = dir_ + "/images";
    fs::create_directories(images_);
    ::chmod(images_.c_str(), 0755);
    kernel_ = dir_ + "/kernel";  // never read: the stand-in monitor boots nothing
    std::ofstream(kernel_) << "not a kernel";
    ::chmod(kernel_.c_str(), 0644);
    base_ = images_ + "/base.raw";
    overlay_ = images_ + "/vm.qcow2";
    ASSERT_EQ(sh("qemu-img create -q -f raw " + base_ + " 4M").first, 0);
    ASSERT_EQ(sh("qemu-io -f raw -c 'write -P 0x11 0 4096' " + base_).first, 0);
    // The VM's user must be able to open its files (the launcher opens them as that user).
    ::chmod(base_.c_str(), 0644);
  }
  ProcessResult run_vm(const std::string& disks) {
    const std::string config = write_vm_config(dir_ + "/vm.json", kernel_, ", \"disks\": " + disks);
    auto [program, args] = launcher_command_for_standin(
        BULWARK_JAILER, run_args(config, {"--monitor", BULWARK_STANDIN_MONITOR}), dir_ + "/dev-overlay");
    return run_process(program, args, {}, std::chrono::seconds(60));
  }

  std::string images_, kernel_, base_, overlay_;
};

TEST_F(JailDiskTest, AQcow2OverlayReadsItsBaseTakesTheGuestsWritesAndLeavesTheBaseAlone) {
  ASSERT_EQ(sh("qemu-img create -q -f qcow2 -b " + base_ + " -F raw " + overlay_ + " 4M").first, 0);
  ::chmod(overlay_.c_str(), 0666);
  const std::string base_sum = sh("md5sum " + base_).second.substr(0, 32);
  ProcessResult result = run_vm("[{\"path\": \"" + overlay_ + "\", \"format\": \"qcow2\", \"backing\": [{\"path\": \"" +
                                base_ + "\", \"format\": \"raw\"}]}]");
  EXPECT_TRUE(result.exited && result.exit_code == 0) << result.describe();
  EXPECT_NE(result.out.find("STANDIN-BLK 0 read 1111111111111111"), std::string::npos) << result.describe();
  EXPECT_NE(result.out.find("STANDIN-BLK 0 wrote ok"), std::string::npos) << result.describe();
  EXPECT_EQ(sh("md5sum " + base_).second.substr(0, 32), base_sum) << "the base changed";
  const auto check = sh("qemu-img check -f qcow2 " + overlay_);
  EXPECT_EQ(check.first, 0) << check.second;
  const auto seen = sh("qemu-io -f qcow2 -c 'read -P 0x5a 1048576 4096' -c 'read -P 0x11 0 4096' " + overlay_);
  EXPECT_EQ(seen.second.find("Pattern verification failed"), std::string::npos) << seen.second;
  expect_nothing_left();
}

TEST_F(JailDiskTest, AHeaderNamingAFileTheConfigDoesNotListRefusesTheDisk) {
  ASSERT_EQ(sh("qemu-img create -q -f qcow2 -u -b /etc/shadow -F raw " + overlay_ + " 4M").first, 0);
  ::chmod(overlay_.c_str(), 0666);
  ProcessResult result = run_vm("[{\"path\": \"" + overlay_ + "\", \"format\": \"qcow2\", \"backing\": [{\"path\": \"" +
                                base_ + "\", \"format\": \"raw\"}]}]");
  EXPECT_NE(result.err.find("its header names the backing file \"/etc/shadow\", not \"" + base_ + "\""),
            std::string::npos)
      << result.describe();
  EXPECT_EQ(result.out.find("STANDIN-BLK 0 read"), std::string::npos) << "the disk was served: " << result.describe();
  expect_nothing_left();
}

TEST_F(JailDiskTest, ADiskDeclaredRawIsServedAsRawBytesWhateverItsHeaderSays) {
  ASSERT_EQ(sh("qemu-img create -q -f qcow2 -u -b /etc/shadow -F raw " + overlay_ + " 4M").first, 0);
  ASSERT_EQ(::truncate(overlay_.c_str(), 4 << 20), 0);
  ::chmod(overlay_.c_str(), 0666);
  ProcessResult result = run_vm("[{\"path\": \"" + overlay_ + "\"}]");
  EXPECT_TRUE(result.exited && result.exit_code == 0) << result.describe();
  // "QFI\xfb" then the version: the guest sees the header as bytes, nothing follows from it.
  EXPECT_NE(result.out.find("STANDIN-BLK 0 read 514649fb00000003"), std::string::npos) << result.describe();
  expect_nothing_left();
}

// The operator's host config "blk_poll_us" is on the command line of the jailed
// bulwark-dev-blk the real launcher starts (the device's polling window, devices/blk/README.md).
TEST_F(JailDiskTest, TheHostConfigsBlkPollUsReachesTheJailedDevice) {
  write_host_config(", \"blk_poll_us\": 7");
  const std::string disk = images_ + "/poll.raw";
  ASSERT_EQ(sh("qemu-img create -q -f raw " + disk + " 4M").first, 0);
  ::chmod(disk.c_str(), 0666);
  const std::string config = write_vm_config(dir_ + "/vm.json", kernel_,
                                             ", \"cmdline\": \"standin.wait\", \"disks\": [{\"path\": \"" + disk + "\"}]");
  auto [program, args] = launcher_command_for_standin(
      BULWARK_JAILER, run_args(config, {"--monitor", BULWARK_STANDIN_MONITOR}), dir_ + "/dev-overlay");
  auto launcher = ChildProcess::start(program, args);
  ASSERT_TRUE(launcher.ok()) << launcher.error().message();
  ASSERT_TRUE(launcher->wait_for_stdout("STANDIN-RUNNING", std::chrono::seconds(60)))
      << launcher->wait(std::chrono::seconds(5)).describe();
  // This test's device: the bulwark-dev-blk whose fd 4 is this test's image.
  std::vector<std::string> argv;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code ec;
    if (trimmed(read_text(entry.path() / "comm")) != "bulwark-dev-blk") continue;
    if (fs::read_symlink(entry.path() / "fd" / "4", ec) != fs::path(disk)) continue;
    std::istringstream cmdline(read_text(entry.path() / "cmdline"));
    for (std::string arg; std::getline(cmdline, arg, '\0');) argv.push_back(arg);
  }
  std::string joined;
  for (const std::string& arg : argv) joined += arg + " ";
  const auto flag = std::find(argv.begin(), argv.end(), "--poll-us");
  EXPECT_TRUE(flag != argv.end() && flag + 1 != argv.end() && *(flag + 1) == "7") << joined;
  ASSERT_TRUE(launcher->send_signal(SIGTERM).ok());
  ProcessResult run = launcher->wait(std::chrono::seconds(30));
  EXPECT_TRUE(run.exited) << run.describe();
  expect_nothing_left();
}

}  // namespace
}  // namespace bulwark::test
