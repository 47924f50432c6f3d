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

TEST(KernelImage, NeitherFormatSaysWhatWasExpectedNotWhatWasFound) {
  std::vector<uint8_t> text(0x400, 'A');
  auto image = parse_kernel_image(text, k64MiB);
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.error().message(),
            "kernel image is not an ELF vmlinux or bzImage: expected \\x7fELF at offset 0, or the "
            "boot flag 0xaa55 at 0x1fe and \"HdrS\" at 0x202");

  auto empty = parse_kernel_image({}, k64MiB);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().message().find("empty file"), std::string::npos);
}

// A host secret named as the kernel (/etc/shadow): none of its bytes may reach the message, in
// any spelling (raw, hex, little-endian fields).
TEST(KernelImage, RefusalNeverEchoesTheFilesBytes) {
  std::string shadow = "root:$y$j9T$secretsalt$hash:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n";
  while (shadow.size() < 0x400) shadow += shadow;
  const std::vector<uint8_t> file(shadow.begin(), shadow.end());
  // Also a file that gets past the boot flag (a boot sector), not past "HdrS".
  testing::BzImageBuilder half_bz;
  half_bz.set<uint32_t>(testing::hdr::kHeader, 0x746f6f72);  // "root"
  for (const std::vector<uint8_t>& bytes : {file, half_bz.bytes()}) {
    auto image = parse_kernel_image(bytes, k64MiB);
    ASSERT_FALSE(image.ok());
    const std::string& message = image.error().message();
    for (const char* leak : {"root", "0x72", "72 6f", "0x746f6f72", "0x6f72", "secret", "0x3a"})
      EXPECT_EQ(message.find(leak), std::string::npos) << leak << " in: " << message;
  }
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
