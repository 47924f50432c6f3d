// Proves the parsers accept a real Debian kernel. Runs only when BULWARK_LINUX_ASSETS points at
// the directory scripts/fetch-linux-assets.sh filled (vmlinux, vmlinuz, initramfs.cpio).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "bulwark/common/byte_reader.h"
#include "monitor/boot/boot_plan.h"
#include "monitor/boot/bzimage.h"
#include "monitor/boot/elf_kernel.h"

namespace bulwark::boot {
namespace {

constexpr uint64_t kMiB = 1024 * 1024;

std::optional<std::filesystem::path> assets_dir() {
  const char* dir = std::getenv("BULWARK_LINUX_ASSETS");
  if (dir == nullptr || *dir == '\0') return std::nullopt;
  return std::filesystem::path(dir);
}

std::vector<uint8_t> read_file(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return {};
  std::vector<uint8_t> bytes(size);
  std::ifstream in(path, std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size))) return {};
  return bytes;
}

class RealKernel : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto dir = assets_dir();
    if (!dir) GTEST_SKIP() << "BULWARK_LINUX_ASSETS is not set";
    vmlinux_ = read_file(*dir / "vmlinux");
    vmlinuz_ = read_file(*dir / "vmlinuz");
    initramfs_ = read_file(*dir / "initramfs.cpio");
    ASSERT_FALSE(vmlinux_.empty()) << "no vmlinux in " << *dir;
    ASSERT_FALSE(vmlinuz_.empty()) << "no vmlinuz in " << *dir;
    ASSERT_FALSE(initramfs_.empty()) << "no initramfs.cpio in " << *dir;
  }
  const GuestLayout layout_ = GuestLayout::for_ram_size(256 * kMiB);
  std::vector<uint8_t> vmlinux_, vmlinuz_, initramfs_;
};

TEST_F(RealKernel, ParsesVmlinux) {
  auto image = parse_elf_kernel(vmlinux_, layout_);
  ASSERT_TRUE(image.ok()) << image.error().message();
  EXPECT_GE(image->segments.size(), 3u);
  EXPECT_EQ(image->lowest_addr(), 16 * kMiB);  // CONFIG_PHYSICAL_START
  EXPECT_GE(image->entry64, image->lowest_addr());
  EXPECT_LT(image->entry64, image->end_addr());

  auto plan = plan_linux_boot(vmlinux_, initramfs_, "console=ttyS0 panic=-1", layout_, 0);
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  EXPECT_GE(plan->initrd_addr, image->end_addr());
  EXPECT_EQ(plan->initrd_addr % 4096, 0u);
}

TEST_F(RealKernel, ParsesBzImage) {
  auto image = parse_bzimage(vmlinuz_, layout_);
  ASSERT_TRUE(image.ok()) << image.error().message();
  EXPECT_GE(image->boot_protocol, 0x020c);
  ASSERT_EQ(image->segments.size(), 1u);
  const uint64_t pref_address = read_le<uint64_t>(vmlinuz_, 0x258).value();
  EXPECT_EQ(image->segments[0].guest_addr, pref_address);
  EXPECT_EQ(image->entry64, pref_address + 0x200);
  EXPECT_EQ(image->segments[0].mem_size, read_le<uint32_t>(vmlinuz_, 0x260).value());
  EXPECT_GE(image->cmdline_limit, 255u);

  auto plan = plan_linux_boot(vmlinuz_, initramfs_, "console=ttyS0 panic=-1", layout_, 0);
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  EXPECT_LE(plan->initrd_addr + initramfs_.size() - 1, image->initrd_addr_max);
  EXPECT_GE(plan->initrd_addr, image->end_addr());
}

}  // namespace
}  // namespace bulwark::boot
