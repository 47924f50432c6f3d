// Interop with a vhost-user frontend no one here wrote: QEMU (TCG) boots the virtio_blk test
// guest through its PVH entry with a vhost-user-blk-pci disk served by bulwark-dev-blk (seccomp
// enforced) over a memfd memory backend. The guest passes, its pattern lands in the image
// file, and the device process exits by itself once QEMU has quit.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/devices/blk_socket_device.h"
#include "tests/integration/guest_test_support.h"
#include "tests/integration/virtio_disk_image.h"

namespace bulwark::test {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> qemu_args(const std::string& socket) {
  return {"-machine", "q35", "-accel", "tcg", "-nodefaults", "-display", "none", "-m", "128M",
          "-object", "memory-backend-memfd,id=mem,size=128M,share=on", "-numa", "node,memdev=mem",
          "-chardev", "socket,id=c0,path=" + socket,
          "-device", "vhost-user-blk-pci,chardev=c0,num-queues=1,disable-legacy=on",
          "-kernel", guest_path("virtio_blk"), "-append", "rng=0",
          "-serial", "stdio", "-no-reboot"};
}

std::string joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  return text;
}

TEST(QemuFrontendInterop, QemuBootsTheGuestOnBulwarkDevBlk) {
  const std::string qemu = BULWARK_QEMU_SYSTEM;
  if (qemu.empty()) GTEST_SKIP() << "qemu-system-x86_64 is not installed";
  if (dev_blk_path().empty()) GTEST_SKIP() << "bulwark-dev-blk not built";
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string image = dir.path() + "/disk.img";
  ASSERT_EQ(make_image(image, kVirtioTestImageBytes, kVirtioTestImageFill), "");
  const std::string socket = dir.path() + "/blk.sock";
  auto device = start_blk_on_socket(image, socket, {"--serial", "bulwark-interop"});
  ASSERT_TRUE(device.ok()) << device.error().message();

  const ProcessResult run = run_process(qemu, qemu_args(socket), {}, 60s);
  const ProcessResult device_end = device->wait(20s);
  const std::string context = run.describe() + "\n" + describe_device_end(device_end);

  EXPECT_TRUE(run.exited && !run.timed_out && run.exit_code == 0) << context;
  EXPECT_TRUE(has_line(run.out, "VIRTIO-TEST PASS")) << context;
  EXPECT_TRUE(has_line(run.out, "virtio-blk: capacity=2048 sectors")) << context;
  EXPECT_TRUE(has_line(run.out, "virtio-blk: id=bulwark-interop")) << context;
  EXPECT_TRUE(has_line(run.out, "virtio-blk: read past the end: IOERR")) << context;
  EXPECT_TRUE(ended_cleanly(device_end)) << context;

  const bool zeroed = has_line(run.out, "virtio-blk: write-zeroes sector 16..19 OK");
  const std::vector<std::string> problems = check_virtio_blk_image(image, zeroed);
  EXPECT_TRUE(problems.empty()) << joined(problems) << context;
}

}  // namespace
}  // namespace bulwark::test
