#include "monitor/boot/boot_plan.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "bulwark/common/byte_reader.h"
#include "monitor/boot/zero_page.h"
#include "tests/unit/boot/image_builders.h"

namespace bulwark::boot {
namespace {

using testing::BzImageBuilder;
using testing::ElfBuilder;
using testing::kMiB;
namespace hdr = testing::hdr;
namespace zp = testing::zp;

const GuestLayout k64MiB = GuestLayout::for_ram_size(64 * kMiB);

const GuestWrite* write_at(const BootPlan& plan, uint64_t addr) {
  for (const GuestWrite& w : plan.writes)
    if (w.guest_addr == addr) return &w;
  return nullptr;
}

template <typename T>
T field(const std::vector<uint8_t>& page, uint64_t offset) {
  const auto v = read_le<T>(page, offset);
  EXPECT_TRUE(v.has_value()) << "offset " << offset;
  return v.value_or(T{});
}

std::vector<uint8_t> initrd_of(size_t size) {
  std::vector<uint8_t> initrd(size);
  for (size_t i = 0; i < size; ++i) initrd[i] = static_cast<uint8_t>(0xa0 + i);
  return initrd;
}

TEST(BootPlan, BzImageZeroPageFieldsAtTheirDocumentedOffsets) {
  const std::vector<uint8_t> kernel = BzImageBuilder().bytes();
  const std::vector<uint8_t> initrd = initrd_of(0x1234);
  auto plan = plan_linux_boot(kernel, initrd, "console=ttyS0 quiet", k64MiB, 0xe0000);
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  EXPECT_EQ(plan->format, KernelFormat::kBzImage);
  EXPECT_EQ(plan->entry64, 16 * kMiB + 0x200);
  EXPECT_EQ(plan->zero_page_addr, kZeroPageAddr);
  EXPECT_EQ(plan->initrd_addr, 64 * kMiB - 0x2000);
  EXPECT_EQ(plan->initrd.data(), initrd.data());

  const GuestWrite* page_write = write_at(*plan, kZeroPageAddr);
  ASSERT_NE(page_write, nullptr);
  const std::vector<uint8_t>& page = page_write->bytes;
  ASSERT_EQ(page.size(), 4096u);
  // Copied from the kernel's header.
  EXPECT_EQ(field<uint8_t>(page, hdr::kSetupSects), 1);
  EXPECT_EQ(field<uint16_t>(page, hdr::kBootFlag), 0xaa55);
  EXPECT_EQ(field<uint32_t>(page, hdr::kHeader), 0x53726448u);
  EXPECT_EQ(field<uint16_t>(page, hdr::kVersion), 0x020f);
  EXPECT_EQ(field<uint64_t>(page, hdr::kPrefAddress), 16 * kMiB);
  EXPECT_EQ(field<uint32_t>(page, hdr::kInitSize), 0x100000u);
  EXPECT_EQ(field<uint32_t>(page, hdr::kCmdlineSize), 0x7ffu);
  // Filled in by the loader.
  EXPECT_EQ(field<uint8_t>(page, hdr::kTypeOfLoader), 0xff);
  EXPECT_EQ(field<uint8_t>(page, hdr::kLoadflags), 0x81);  // LOADED_HIGH | CAN_USE_HEAP
  EXPECT_EQ(field<uint16_t>(page, hdr::kHeapEndPtr), 0xfe00);
  EXPECT_EQ(field<uint32_t>(page, hdr::kCmdLinePtr), kCmdlineAddr);
  EXPECT_EQ(field<uint32_t>(page, hdr::kRamdiskImage), 64 * kMiB - 0x2000);
  EXPECT_EQ(field<uint32_t>(page, hdr::kRamdiskSize), 0x1234u);
  EXPECT_EQ(field<uint32_t>(page, zp::kExtRamdiskImage), 0u);
  EXPECT_EQ(field<uint64_t>(page, zp::kAcpiRsdpAddr), 0xe0000u);
  EXPECT_EQ(field<uint8_t>(page, zp::kSentinel), 0);
  // Nothing of the file past the header end (0x26c) leaks into the page.
  for (uint64_t off = 0x26c; off < 0x290; ++off) EXPECT_EQ(page[off], 0) << "offset " << off;

  const std::vector<E820Entry> e820 = k64MiB.e820_map();
  ASSERT_EQ(field<uint8_t>(page, zp::kE820Entries), e820.size());
  for (size_t i = 0; i < e820.size(); ++i) {
    const uint64_t at = zp::kE820Table + i * zp::kE820EntrySize;
    EXPECT_EQ(field<uint64_t>(page, at), e820[i].addr) << i;
    EXPECT_EQ(field<uint64_t>(page, at + 8), e820[i].size) << i;
    EXPECT_EQ(field<uint32_t>(page, at + 16), static_cast<uint32_t>(e820[i].type)) << i;
  }
  EXPECT_EQ(field<uint64_t>(page, zp::kE820Table + e820.size() * zp::kE820EntrySize), 0u);

  const GuestWrite* cmdline = write_at(*plan, kCmdlineAddr);
  ASSERT_NE(cmdline, nullptr);
  const std::string expected("console=ttyS0 quiet\0", 20);
  EXPECT_EQ(std::string(cmdline->bytes.begin(), cmdline->bytes.end()), expected);
}

TEST(BootPlan, ElfZeroPageHasSynthesizedHeader) {
  const std::vector<uint8_t> kernel = ElfBuilder().bytes();
  auto plan = plan_linux_boot(kernel, {}, "", k64MiB, 0);
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  EXPECT_EQ(plan->format, KernelFormat::kElf);
  EXPECT_EQ(plan->entry64, kMiB);
  EXPECT_EQ(plan->initrd_addr, 0u);
  EXPECT_TRUE(plan->initrd.empty());
  const std::vector<uint8_t>& page = write_at(*plan, kZeroPageAddr)->bytes;
  EXPECT_EQ(field<uint16_t>(page, hdr::kBootFlag), 0xaa55);
  EXPECT_EQ(field<uint32_t>(page, hdr::kHeader), 0x53726448u);
  EXPECT_EQ(field<uint16_t>(page, hdr::kVersion), 0x020f);
  EXPECT_EQ(field<uint32_t>(page, hdr::kKernelAlignment), 0x1000000u);
  EXPECT_EQ(field<uint8_t>(page, hdr::kTypeOfLoader), 0xff);
  EXPECT_EQ(field<uint8_t>(page, hdr::kLoadflags), 0x81);
  EXPECT_EQ(field<uint32_t>(page, hdr::kCmdLinePtr), kCmdlineAddr);
  EXPECT_EQ(field<uint32_t>(page, hdr::kRamdiskImage), 0u);
  EXPECT_EQ(field<uint32_t>(page, hdr::kRamdiskSize), 0u);
  EXPECT_EQ(field<uint64_t>(page, zp::kAcpiRsdpAddr), 0u);
  EXPECT_EQ(write_at(*plan, kCmdlineAddr)->bytes, std::vector<uint8_t>{0});
}

TEST(BootPlan, ClearsObsoleteKeepSegments) {
  BzImageBuilder b;
  b.set<uint8_t>(hdr::kLoadflags, 0x41);  // LOADED_HIGH | KEEP_SEGMENTS
  auto plan = plan_linux_boot(b.bytes(), {}, "", k64MiB, 0);
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  EXPECT_EQ(field<uint8_t>(write_at(*plan, kZeroPageAddr)->bytes, hdr::kLoadflags), 0x81);
}

TEST(BootPlan, CommandLineLimits) {
  const std::vector<uint8_t> bz = BzImageBuilder().bytes();  // cmdline_size 0x7ff
  EXPECT_TRUE(plan_linux_boot(bz, {}, std::string(0x7ff, 'x'), k64MiB, 0).ok());
  auto too_long = plan_linux_boot(bz, {}, std::string(0x800, 'x'), k64MiB, 0);
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().message(),
            "command line of 2048 bytes exceeds the limit of 2047 (kernel cmdline_size 2047, "
            "monitor buffer 65535, NUL excluded)");

  // A kernel accepting more than the monitor's buffer is held to the buffer.
  BzImageBuilder big;
  big.set<uint32_t>(hdr::kCmdlineSize, 0x100000);
  const std::vector<uint8_t> big_bytes = big.bytes();
  EXPECT_TRUE(plan_linux_boot(big_bytes, {}, std::string(kCmdlineMaxSize - 1, 'y'), k64MiB, 0).ok());
  auto over_buffer = plan_linux_boot(big_bytes, {}, std::string(kCmdlineMaxSize, 'y'), k64MiB, 0);
  ASSERT_FALSE(over_buffer.ok());
  EXPECT_NE(over_buffer.error().message().find("command line of 65536 bytes exceeds the limit of 65535"),
            std::string::npos);

  // ELF kernels: Linux's own 2048-byte COMMAND_LINE_SIZE.
  const std::vector<uint8_t> elf = ElfBuilder().bytes();
  EXPECT_TRUE(plan_linux_boot(elf, {}, std::string(2047, 'z'), k64MiB, 0).ok());
  EXPECT_FALSE(plan_linux_boot(elf, {}, std::string(2048, 'z'), k64MiB, 0).ok());

  auto nul = plan_linux_boot(bz, {}, std::string_view("root=/dev/vda\0init=/bin/sh", 26), k64MiB, 0);
  ASSERT_FALSE(nul.ok());
  EXPECT_NE(nul.error().message().find("command line has a NUL byte at offset 13"), std::string::npos);
}

TEST(BootPlan, InitrdRespectsKernelLimitAndRefusesOversize) {
  BzImageBuilder b;
  b.set<uint32_t>(hdr::kInitrdAddrMax, 0x1ffffff);  // 32 MiB - 1
  const std::vector<uint8_t> kernel = b.bytes();
  const std::vector<uint8_t> initrd = initrd_of(0x5000);
  auto plan = plan_linux_boot(kernel, initrd, "", k64MiB, 0);
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  EXPECT_EQ(plan->initrd_addr, 32 * kMiB - 0x5000);

  // 15 MiB free on either side of the kernel at 16..17 MiB below the 32 MiB limit.
  const std::vector<uint8_t> huge(15 * kMiB + 1);
  auto too_big = plan_linux_boot(kernel, huge, "", k64MiB, 0);
  ASSERT_FALSE(too_big.ok());
  EXPECT_NE(too_big.error().message().find("initrd of 0xf00001 bytes does not fit"), std::string::npos)
      << too_big.error().message();
}

TEST(BootPlan, KernelErrorsPropagate) {
  auto plan = plan_linux_boot(std::vector<uint8_t>(16, 0), {}, "", k64MiB, 0);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.error().message().find("not an ELF vmlinux or bzImage"), std::string::npos);
}

TEST(ZeroPage, RefusesMoreThan128E820Entries) {
  KernelImage kernel;
  std::vector<E820Entry> e820(129, E820Entry{0, 0x1000, E820Type::kRam});
  auto page = build_zero_page({.kernel = kernel, .cmdline_addr = kCmdlineAddr, .e820 = e820});
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.error().message(), "zero page: e820 map has 129 entries, more than the 128 boot_params holds");
  e820.resize(128);
  auto full = build_zero_page({.kernel = kernel, .cmdline_addr = kCmdlineAddr, .e820 = e820});
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(field<uint8_t>(*full, zp::kE820Entries), 128);
  EXPECT_EQ(field<uint64_t>(*full, zp::kE820Table + 127 * zp::kE820EntrySize + 8), 0x1000u);
}

TEST(ZeroPage, RefusesAddressesAbove4GiB) {
  KernelImage kernel;
  const std::vector<E820Entry> e820;
  EXPECT_FALSE(build_zero_page({.kernel = kernel, .cmdline_addr = uint64_t{1} << 32, .e820 = e820}).ok());
  EXPECT_FALSE(
      build_zero_page({.kernel = kernel, .initrd_addr = 0xfffff000, .initrd_size = 0x2000, .e820 = e820}).ok());
  EXPECT_TRUE(
      build_zero_page({.kernel = kernel, .initrd_addr = 0xfffff000, .initrd_size = 0x1000, .e820 = e820}).ok());
}

}  // namespace
}  // namespace bulwark::boot
