// A disk whose device process is gone or never answers, on the whole stack (bulwark-monitor and
// a real bulwark-dev-blk, or a socket nobody serves), with tests/guests/virtio_reset driving
// the device the way Linux's modern virtio_pci driver does. The VM must run without the disk:
//  - killed after it worked: the guest sees DEVICE_NEEDS_RESET, its reset (write 0, poll until
//    0) ends, FEATURES_OK is refused and the guest goes on;
//  - never answered the handshake: the monitor starts the VM anyway (the disk failed, logged),
//    and the guest finds the disk refusing to start.
#include <signal.h>

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "monitor/vmm/exit_codes.h"
#include "tests/devices/blk_socket_device.h"
#include "tests/devices/device_test_support.h"
#include "tests/integration/guest_test_support.h"

namespace bulwark::test {
namespace {

using namespace std::chrono_literals;

class FailedDiskTest : public GuestTest {
 protected:
  void SetUp() override {
    GuestTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_FALSE(dir_.path().empty());
    image_ = dir_.path() + "/disk.img";
    ASSERT_TRUE(write_background_image(image_).ok());
  }
  TempDir dir_;
  std::string image_;
};

TEST_F(FailedDiskTest, ResetOfADiskWhoseProcessWasKilledCompletesAndTheGuestGoesOn) {
  if (dev_blk_path().empty()) GTEST_SKIP() << "bulwark-dev-blk not built";
  const std::string socket = dir_.path() + "/blk.sock";
  auto device = start_blk_on_socket(image_, socket);
  ASSERT_TRUE(device.ok()) << device.error().message();
  auto monitor = ChildProcess::start(monitor_path(),
                                     guest_args("virtio_reset", {"--vhost-user-blk", socket, "--cmdline", "mode=dead"}));
  ASSERT_TRUE(monitor.ok()) << monitor.error().message();
  ASSERT_TRUE(monitor->wait_for_stdout("virtio-reset: device up", 60s)) << "the disk never worked";
  ASSERT_TRUE(device->send_signal(SIGKILL).ok());
  const ProcessResult run = monitor->wait(90s);
  const std::string context = run.describe();
  ASSERT_TRUE(run.exited && run.exit_code == vmm::kExitGuestReset) << context;
  EXPECT_TRUE(has_line(run.out, "virtio-reset: NEEDS_RESET seen")) << context;
  EXPECT_EQ(run.out.find("VIRTIO-RESET FAIL"), std::string::npos) << context;
  EXPECT_NE(run.out.find("VIRTIO-RESET dead DONE"), std::string::npos) << context;
  EXPECT_NE(run.err.find("device failed"), std::string::npos) << context;
}

// The device's end of the socketpair is held open and never read: the monitor's GET_FEATURES
// gets no reply. The VM still starts (after the 5 s reply timeout), only the disk fails.
TEST_F(FailedDiskTest, ADiskThatNeverAnswersFailsAloneAndTheVmRuns) {
  auto pair = make_socketpair();
  ASSERT_TRUE(pair.ok()) << pair.error().message();
  const int monitor_end = pair->first.get();
  auto monitor = start_with_fds(
      monitor_path(),
      guest_args("virtio_reset", {"--vhost-user-blk", "fd:" + std::to_string(monitor_end), "--cmdline", "mode=never"}),
      {monitor_end});
  ASSERT_TRUE(monitor.ok()) << monitor.error().message();
  pair->first.reset();  // the child has its copy; pair->second stays open, silent
  const ProcessResult run = monitor->wait(90s);
  const std::string context = run.describe();
  ASSERT_TRUE(run.exited) << context;
  EXPECT_EQ(run.exit_code, vmm::kExitGuestReset) << context;
  EXPECT_NE(run.err.find("vhost-user-blk 0 (fd " + std::to_string(monitor_end) + "): the device failed its handshake"),
            std::string::npos)
      << context;
  EXPECT_EQ(run.out.find("VIRTIO-RESET FAIL"), std::string::npos) << context;
  EXPECT_NE(run.out.find("VIRTIO-RESET never DONE"), std::string::npos) << context;
}

}  // namespace
}  // namespace bulwark::test
