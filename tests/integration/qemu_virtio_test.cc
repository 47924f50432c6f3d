// The virtio test guests under QEMU TCG, the reference virtio-pci implementation: proves the
// guests' driver (tests/guests/virtio/) right, independent of bulwark-monitor's devices.
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "tests/integration/guest_test_support.h"
#include "tests/integration/monitor_process.h"
#include "tests/integration/virtio_disk_image.h"

#ifndef BULWARK_QEMU
#define BULWARK_QEMU ""
#endif

namespace bulwark::test {
namespace {

constexpr auto kQemuTimeout = std::chrono::seconds(60);

// -kernel takes the guest's PVH note; the disk is a modern-only virtio-blk-pci with a serial
// the guest reads back through GET_ID, next to a modern-only virtio-rng-pci.
ProcessResult run_in_qemu(const std::string& guest, const std::string& cmdline,
                          const std::string& image, bool with_rng) {
  std::vector<std::string> args = {
      "-machine", "q35", "-accel", "tcg", "-nodefaults", "-display", "none", "-serial",
      "stdio", "-no-reboot", "-m", "64", "-kernel", guest_path(guest), "-append", cmdline,
      "-drive", "if=none,id=d0,format=raw,file=" + image,
      "-device", "virtio-blk-pci,drive=d0,disable-legacy=on,serial=bulwark-test"};
  if (with_rng) {
    args.insert(args.end(), {"-device", "virtio-rng-pci,disable-legacy=on"});
  }
  return run_process(BULWARK_QEMU, args, {}, kQemuTimeout);
}

class QemuVirtioTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string(BULWARK_QEMU).empty()) GTEST_SKIP() << "qemu-system-x86_64 not found";
    ASSERT_FALSE(dir_.path().empty());
    image_ = dir_.path() + "/disk.img";
    ASSERT_EQ(make_image(image_, kVirtioTestImageBytes, kVirtioTestImageFill), "");
  }

  TempDir dir_;
  std::string image_;
};

std::string joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  return text;
}

void expect_virtio_blk_pass(const ProcessResult& run, const std::string& image) {
  EXPECT_TRUE(run.exited && !run.timed_out) << run.describe();
  EXPECT_TRUE(has_line(run.out, "VIRTIO-TEST PASS")) << run.describe();
  EXPECT_TRUE(has_line(run.out, "virtio-blk: capacity=2048 sectors")) << run.describe();
  EXPECT_TRUE(has_line(run.out, "virtio-blk: id=bulwark-test")) << run.describe();
  EXPECT_TRUE(has_line(run.out, "virtio-blk: read past the end: IOERR")) << run.describe();
  EXPECT_TRUE(has_line(run.out, "virtio-rng: 64 bytes OK")) << run.describe();
  // QEMU offers WRITE_ZEROES and DISCARD by default: the guest must have used both.
  EXPECT_TRUE(has_line(run.out, "virtio-blk: write-zeroes sector 16..19 OK")) << run.describe();
  EXPECT_TRUE(has_line(run.out, "virtio-blk: discard sector 20..23 OK")) << run.describe();
  const std::vector<std::string> problems = check_virtio_blk_image(image, true);
  EXPECT_TRUE(problems.empty()) << joined(problems) << run.describe();
}

TEST_F(QemuVirtioTest, BlkAndRngPassWithFirmwareAssignedBars) {
  const ProcessResult run = run_in_qemu("virtio_blk", "", image_, true);
  expect_virtio_blk_pass(run, image_);
}

TEST_F(QemuVirtioTest, BlkAndRngPassWhenTheGuestAssignsBars) {
  const ProcessResult run = run_in_qemu("virtio_blk", "rebar=1", image_, true);
  EXPECT_NE(console_text(run.out).find("programmed 0xc0000000"), std::string::npos)
      << run.describe();
  expect_virtio_blk_pass(run, image_);
}

TEST_F(QemuVirtioTest, ImageCheckerRejectsAnUntouchedImage) {
  // The image checks above must be able to fail: a fresh image has none of the pattern.
  EXPECT_FALSE(check_virtio_blk_image(image_, true).empty());
  EXPECT_TRUE(sector_holds(image_, kVirtioHostileTargetSector, kVirtioTestImageFill));
}

TEST_F(QemuVirtioTest, MissingRngFailsTheRun) {
  // The guest's verdict must depend on the devices: without the rng it says FAIL.
  const ProcessResult run = run_in_qemu("virtio_blk", "", image_, false);
  EXPECT_TRUE(has_line(run.out, "VIRTIO-TEST FAIL rng probe")) << run.describe();
  EXPECT_FALSE(has_line(run.out, "VIRTIO-TEST PASS")) << run.describe();
}

TEST_F(QemuVirtioTest, HostileGuestRejectsAnUnknownCase) {
  const ProcessResult run = run_in_qemu("virtio_hostile", "case=nonsense", image_, false);
  EXPECT_TRUE(has_line(run.out, "VIRTIO-HOSTILE FAIL unknown case \"nonsense\"")) << run.describe();
}

struct HostileCase {
  const char* name;
  const char* cmdline;
  bool qemu_sets_needs_reset;  // QEMU marks the device broken (the others it tolerates)
};

// Names the parameter in test output (gtest would otherwise print its bytes).
void PrintTo(const HostileCase& c, std::ostream* os) { *os << c.name; }

class QemuHostileTest : public QemuVirtioTest,
                        public ::testing::WithParamInterface<HostileCase> {};

// Each abuse ends with the marker line and a device that works again after a reset. (In
// QEMU, "mmio" with dir=in deadlocks QEMU itself, so it is not run here.)
TEST_P(QemuHostileTest, GuestReportsTheDeviceReactionAndRecovers) {
  const HostileCase& c = GetParam();
  const ProcessResult run = run_in_qemu("virtio_hostile", c.cmdline, image_, false);
  EXPECT_TRUE(run.exited && !run.timed_out) << run.describe();
  const std::string text = console_text(run.out);
  EXPECT_NE(text.find(std::string("VIRTIO-HOSTILE ") + c.name + " DONE status=0x"),
            std::string::npos)
      << run.describe();
  EXPECT_NE(text.find(" recovered=yes\n"), std::string::npos) << run.describe();
  EXPECT_EQ(text.find(" NEEDS_RESET\n") != std::string::npos, c.qemu_sets_needs_reset)
      << run.describe();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, QemuHostileTest,
    ::testing::Values(HostileCase{"loop", "case=loop", true},
                      HostileCase{"outside", "case=outside", false},
                      HostileCase{"mmio", "case=mmio", false},
                      HostileCase{"wrap", "case=wrap", false},
                      HostileCase{"len_overflow", "case=len_overflow", true},
                      HostileCase{"avail_ahead", "case=avail_ahead", true},
                      HostileCase{"bad_head", "case=bad_head", true},
                      HostileCase{"queue_size", "case=queue_size", false},
                      HostileCase{"msix", "case=msix", false}),
    [](const ::testing::TestParamInfo<HostileCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace bulwark::test
