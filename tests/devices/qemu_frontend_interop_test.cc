// Interop with a vhost-user frontend no one here wrote: QEMU (TCG) boots the virtio_blk test
// guest through its PVH entry with a vhost-user-blk-pci disk served by bulwark-dev-blk (seccomp
// enforced) over a memfd memory backend. The guest passes, its pattern lands in the image
// file, and the device process exits by itself once QEMU has quit. Then the same on a qcow2
// overlay over a raw base, both made by qemu-img, checked afterwards with qemu-img and qemu-io.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <vector>

#include "bulwark/common/unique_fd.h"
#include "tests/devices/blk_socket_device.h"
#include "tests/devices/device_test_support.h"
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

// qemu-img / qemu-io through env, which searches PATH (ChildProcess runs an exact path).
ProcessResult run_qemu_tool(const std::string& tool, std::vector<std::string> args) {
  args.insert(args.begin(), tool);
  return run_process("/usr/bin/env", args, {}, 30s);
}

bool have_qemu_tools() {
  return run_qemu_tool("qemu-img", {"--version"}).exit_code == 0 &&
         run_qemu_tool("qemu-io", {"--version"}).exit_code == 0;
}

// The same guest on a qcow2 overlay (qemu-img's defaults: v3, 64 KiB clusters) over a raw base
// that qemu-io filled with the background byte, the chain handed to bulwark-dev-blk as fds the
// way the launcher does. The virtio_blk guest reads back only what it wrote, so the base's data
// is seen through the overlay in two other ways: the device's copy-on-write of the clusters the
// guest wrote partly (sectors 8..15 and 100 live in cluster 0 with the guest's sectors 0..7, so
// the device had to read them from the base), checked in the overlay alone with its backing cut
// off; and the flattened disk (`qemu-img convert`), which must be the base's background
// everywhere the guest did not write.
TEST(QemuFrontendInterop, QemuBootsTheGuestOnAQcow2OverlayOverARawBase) {
  const std::string qemu = BULWARK_QEMU_SYSTEM;
  if (qemu.empty()) GTEST_SKIP() << "qemu-system-x86_64 is not installed";
  if (dev_blk_path().empty()) GTEST_SKIP() << "bulwark-dev-blk not built";
  if (!have_qemu_tools()) GTEST_SKIP() << "qemu-img/qemu-io not installed";
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string base = dir.path() + "/base.raw";
  const std::string overlay = dir.path() + "/overlay.qcow2";
  const std::string background = std::to_string(kBackgroundByte);
  const std::string disk_bytes = std::to_string(kVirtioTestImageBytes);
  ProcessResult step = run_qemu_tool("qemu-img", {"create", "-q", "-f", "raw", base, disk_bytes});
  ASSERT_EQ(step.exit_code, 0) << step.describe();
  step = run_qemu_tool("qemu-io", {"-f", "raw", "-c", "write -P " + background + " 0 " + disk_bytes, base});
  ASSERT_EQ(step.exit_code, 0) << step.describe();
  step = run_qemu_tool("qemu-img", {"create", "-q", "-f", "qcow2", "-b", base, "-F", "raw", overlay});
  ASSERT_EQ(step.exit_code, 0) << step.describe();
  auto base_before = read_file_bytes(base);
  ASSERT_TRUE(base_before.ok()) << base_before.error().message();

  UniqueFd overlay_fd(::open(overlay.c_str(), O_RDWR | O_CLOEXEC));
  UniqueFd base_fd(::open(base.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(overlay_fd.valid() && base_fd.valid()) << "open: " << errno;
  const std::string socket = dir.path() + "/blk.sock";
  auto device = start_with_fds(
      dev_blk_path(),
      {"--socket", socket, "--image-fd", std::to_string(overlay_fd.get()), "--format", "qcow2", "--image-name",
       overlay, "--backing-fd", std::to_string(base_fd.get()), "--backing-format", "raw", "--backing-name", base,
       "--serial", "bulwark-interop", "--seccomp", "enforce"},
      {overlay_fd.get(), base_fd.get()});
  ASSERT_TRUE(device.ok()) << device.error().message();
  overlay_fd.reset();
  base_fd.reset();
  ASSERT_TRUE(wait_for_path(socket, 10s)) << describe_device_end(device->wait(1s));

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

  // The overlay is consistent, leaks included (the device exited by itself after QEMU quit).
  step = run_qemu_tool("qemu-img", {"check", overlay});
  EXPECT_EQ(step.exit_code, 0) << step.describe();
  EXPECT_NE(step.out.find("No errors were found on the image."), std::string::npos) << step.describe();

  // qemu-io sees what the guest wrote, and the base's bytes the device copied into cluster 0:
  // read with the backing cut off, where anything not in the overlay itself would read as zeros.
  const std::string overlay_alone =
      R"(json:{"driver":"qcow2","file":{"driver":"file","filename":")" + overlay + R"("},"backing":null})";
  const std::string sector_100 = std::to_string(kVirtioHostileTargetSector * kSectorBytes);
  std::vector<std::string> reads = {"-r", "-c", "read -P " + background + " 4096 4096", "-c",
                                    "read -P " + background + " " + sector_100 + " 512"};
  if (zeroed) reads.insert(reads.end(), {"-c", "read -P 0 8192 2048"});
  reads.push_back(overlay_alone);
  step = run_qemu_tool("qemu-io", reads);
  EXPECT_EQ(step.exit_code, 0) << step.describe();
  EXPECT_EQ(step.out.find("Pattern verification failed"), std::string::npos) << step.describe();

  // The whole disk as qemu sees it through the chain: the guest's pattern, its zeros, and the
  // base's background everywhere else.
  const std::string flat = dir.path() + "/flat.raw";
  step = run_qemu_tool("qemu-img", {"convert", "-f", "qcow2", "-O", "raw", overlay, flat});
  ASSERT_EQ(step.exit_code, 0) << step.describe();
  auto flat_bytes = read_file_bytes(flat);
  ASSERT_TRUE(flat_bytes.ok()) << flat_bytes.error().message();
  EXPECT_EQ(check_guest_image(*flat_bytes, zeroed), "");

  // The base, opened read-only by the device, is byte for byte what qemu-io left.
  auto base_after = read_file_bytes(base);
  ASSERT_TRUE(base_after.ok()) << base_after.error().message();
  EXPECT_TRUE(*base_after == *base_before) << "the raw base changed";
}

}  // namespace
}  // namespace bulwark::test
