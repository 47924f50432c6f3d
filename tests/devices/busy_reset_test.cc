// Fair devices (issue 9): tests/guests/virtio_busy_reset on 3 vCPUs keeps the disk's request
// queue full from one vCPU while another resets the device the way Linux's modern virtio_pci
// driver does, and a third prints a console heartbeat. The reset must complete, the heartbeat
// must keep ticking (no pause near the monitor's 5 s device timeout), and the re-initialised
// disk must serve a read (not failed). bulwark-dev-blk (seccomp enforced) is the device.
//  - Under QEMU (TCG) as the vhost-user frontend: QEMU handles the reset by sending
//    GET_VRING_BASE and friends and waits for each reply holding its big lock, so a device
//    that served the full queue without returning to its socket would stop every vCPU's
//    console exit, and the reset would never end (the run hits its time limit).
//  - Under bulwark-monitor (needs /dev/kvm): the monitor makes the reset's round trips outside
//    the I/O-bus lock, and the device answers within a bounded batch.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "monitor/vmm/exit_codes.h"
#include "tests/devices/blk_socket_device.h"
#include "tests/devices/device_test_support.h"
#include "tests/integration/guest_test_support.h"
#include "tests/integration/virtio_disk_image.h"

namespace bulwark::test {
namespace {

using namespace std::chrono_literals;

constexpr char kGuest[] = "virtio_busy_reset";
constexpr char kPass[] = "BUSY-RESET PASS";
constexpr char kFail[] = "BUSY-RESET FAIL";
// The guest reads 4 MiB per request (the device's work per request is what lets one vCPU keep
// the queue from draining); 8 MiB leaves room.
constexpr uint64_t kImageBytes = 8 * 1024 * 1024;

// What a run must show: the PASS line, no FAIL, the reset line, heartbeats on both sides of
// the reset. "" when all holds, else what did not.
std::string check_guest_output(const std::string& out) {
  const std::string text = console_text(out);
  if (text.find(kFail) != std::string::npos) return "the guest reported a failure";
  if (!has_line(out, kPass)) return "no \"" + std::string(kPass) + "\" line";
  const size_t reset = text.find("busy-reset: reset with ");
  if (reset == std::string::npos) return "no reset line";
  if (text.find("busy-reset: heartbeat ") > reset) return "no heartbeat before the reset";
  if (text.find("busy-reset: heartbeat ", reset) == std::string::npos) return "no heartbeat after the reset";
  if (text.find("busy-reset: device back up, read after the reset OK") == std::string::npos) {
    return "the disk did not serve a read after the reset";
  }
  return "";
}

std::vector<std::string> qemu_args(const std::string& socket) {
  // thread=multi: one host thread per vCPU, so the filler runs while another vCPU waits on
  // the device (MTTCG is QEMU's default for x86 on x86; asked for explicitly).
  return {"-machine", "q35", "-accel", "tcg,thread=multi", "-smp", "3", "-nodefaults",
          "-display", "none", "-m", "128M",
          "-object", "memory-backend-memfd,id=mem,size=128M,share=on", "-numa", "node,memdev=mem",
          "-chardev", "socket,id=c0,path=" + socket,
          "-device", "vhost-user-blk-pci,chardev=c0,num-queues=1,disable-legacy=on",
          "-kernel", guest_path(kGuest), "-serial", "stdio", "-no-reboot"};
}

TEST(BusyReset, UnderQemuTheResetOfABusyDiskCompletesAndTheOtherVcpusRun) {
  const std::string qemu = BULWARK_QEMU_SYSTEM;
  if (qemu.empty()) GTEST_SKIP() << "qemu-system-x86_64 is not installed";
  if (dev_blk_path().empty()) GTEST_SKIP() << "bulwark-dev-blk not built";
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string image = dir.path() + "/disk.img";
  ASSERT_EQ(make_image(image, kImageBytes, kVirtioTestImageFill), "");
  const std::string socket = dir.path() + "/blk.sock";
  auto device = start_blk_on_socket(image, socket);
  ASSERT_TRUE(device.ok()) << device.error().message();

  // A device that starves its socket hangs QEMU for good: the limit ends the run.
  const ProcessResult run = run_process(qemu, qemu_args(socket), {}, 90s);
  const ProcessResult device_end = device->wait(20s);
  const std::string context = run.describe() + "\n" + describe_device_end(device_end);

  EXPECT_FALSE(run.timed_out) << "the VM hung (a vCPU waiting on the device?)\n" << context;
  EXPECT_TRUE(run.exited && run.exit_code == 0) << context;
  EXPECT_EQ(check_guest_output(run.out), "") << context;
  EXPECT_TRUE(ended_cleanly(device_end)) << context;
}

class BusyResetMonitorTest : public GuestTest {};

TEST_F(BusyResetMonitorTest, OnTheMonitorTheResetOfABusyDiskCompletesAndTheOtherVcpusRun) {
  if (dev_blk_path().empty()) GTEST_SKIP() << "bulwark-dev-blk not built";
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string image = dir.path() + "/disk.img";
  ASSERT_EQ(make_image(image, kImageBytes, kVirtioTestImageFill), "");
  const std::string socket = dir.path() + "/blk.sock";
  auto device = start_blk_on_socket(image, socket);
  ASSERT_TRUE(device.ok()) << device.error().message();

  const ProcessResult run =
      run_process(monitor_path(), guest_args(kGuest, {"--vcpus", "3", "--vhost-user-blk", socket}), {}, 120s);
  const ProcessResult device_end = device->wait(20s);
  const std::string context = run.describe() + "\n" + describe_device_end(device_end);

  ASSERT_FALSE(run.timed_out) << context;
  EXPECT_TRUE(run.exited && run.exit_code == vmm::kExitGuestReset) << context;
  EXPECT_EQ(check_guest_output(run.out), "") << context;
  // The monitor never gave up on the device (its 5 s reply timeout fails it for good).
  EXPECT_EQ(run.err.find("device failed"), std::string::npos) << context;
  EXPECT_EQ(run.err.find("no complete reply within"), std::string::npos) << context;
  EXPECT_TRUE(ended_cleanly(device_end)) << context;
}

}  // namespace
}  // namespace bulwark::test
