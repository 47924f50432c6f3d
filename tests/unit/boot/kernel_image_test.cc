#include "monitor/boot/kernel_image.h"

#include <gtest/gtest.h>

#include "tests/unit/boot/image_builders.h"

namespace bulwark::boot {
namespace {

using testing::kMiB;

const GuestLayout k64MiB = GuestLayout::for_ram_size(64 * kMiB);

TEST(KernelImage, DispatchesOnMagic) {
  auto elf = parse_kernel_image(testing::ElfBuilder().bytes(), k64MiB);
  ASSERT_TRUE(elf.ok()) << elf.error().message();
  EXPECT_EQ(elf->format, KernelFormat::kElf);
  auto bz = parse_kernel_image(testing::BzImageBuilder().bytes(), k64MiB);
  ASSERT_TRUE(bz.ok()) << bz.error().message();
  EXPECT_EQ(bz->format, KernelFormat::kBzImage);
}

TEST(KernelImage, ParserErrorsPassThrough) {
  testing::ElfBuilder elf;
  elf.header.e_machine = EM_386;
  auto bad_elf = parse_kernel_image(elf.bytes(), k64MiB);
  ASSERT_FALSE(bad_elf.ok());
  EXPECT_NE(bad_elf.error().message().find("e_machine 3"), std::string::npos);

  testing::BzImageBuilder bz;
  bz.set<uint16_t>(testing::hdr::kVersion, 0x0204);
  auto bad_bz = parse_kernel_image(bz.bytes(), k64MiB);
  ASSERT_FALSE(bad_bz.ok());
  EXPECT_NE(bad_bz.error().message().find("boot protocol 2.04"), std::string::npos);
}

TEST(KernelImage, NeitherFormatNamesWhatItFound) {
  std::vector<uint8_t> text(0x400, 'A');
  auto image = parse_kernel_image(text, k64MiB);
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.error().message(),
            "kernel image is neither ELF (\\x7fELF at 0) nor bzImage (0xaa55 at 0x1fe and \"HdrS\" "
            "at 0x202): found first bytes 0x41 0x41 0x41 0x41, boot_flag 0x4141, bytes at 0x202 "
            "0x41414141");

  auto empty = parse_kernel_image({}, k64MiB);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().message().find("found an empty file"), std::string::npos);

  // Boot flag right but no "HdrS": an old zImage or a boot sector, not a bzImage.
  testing::BzImageBuilder bz;
  bz.set<uint32_t>(testing::hdr::kHeader, 0);
  auto no_hdrs = parse_kernel_image(bz.bytes(), k64MiB);
  ASSERT_FALSE(no_hdrs.ok());
  EXPECT_NE(no_hdrs.error().message().find("boot_flag 0xaa55, bytes at 0x202 0x0"), std::string::npos)
      << no_hdrs.error().message();
}

TEST(KernelImage, LowestAndEndAddressSpanAllSegments) {
  KernelImage image;
  EXPECT_EQ(image.lowest_addr(), 0u);
  EXPECT_EQ(image.end_addr(), 0u);
  image.segments = {{0x300000, {}, 0x1000}, {0x100000, {}, 0x500000}, {0x200000, {}, 0x10}};
  EXPECT_EQ(image.lowest_addr(), 0x100000u);
  EXPECT_EQ(image.end_addr(), 0x600000u);
}

}  // namespace
}  // namespace bulwark::boot
