#include "monitor/boot/bzimage.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "tests/unit/boot/image_builders.h"

namespace bulwark::boot {
namespace {

using testing::BzImageBuilder;
using testing::kMiB;
namespace hdr = testing::hdr;

const GuestLayout k64MiB = GuestLayout::for_ram_size(64 * kMiB);

TEST(BzImage, LoadsPayloadAtPrefAddressWithInitSizeReserved) {
  BzImageBuilder b;
  const std::vector<uint8_t>& file = b.bytes();
  auto image = parse_bzimage(file, k64MiB);
  ASSERT_TRUE(image.ok()) << image.error().message();
  EXPECT_EQ(image->format, KernelFormat::kBzImage);
  ASSERT_EQ(image->segments.size(), 1u);
  const LoadSegment& s = image->segments[0];
  EXPECT_EQ(s.guest_addr, 16 * kMiB);
  EXPECT_EQ(s.file_bytes.data(), file.data() + 0x400);  // (setup_sects 1 + 1) * 512
  EXPECT_EQ(s.file_bytes.size(), 0x1000u);
  EXPECT_EQ(s.mem_size, 0x100000u);  // init_size: nothing else may be placed there
  EXPECT_EQ(image->entry64, 16 * kMiB + 0x200);
  EXPECT_EQ(image->boot_protocol, 0x020f);
  EXPECT_EQ(image->cmdline_limit, 0x7ffu);
  EXPECT_EQ(image->initrd_addr_max, 0x7fffffffu);
  EXPECT_EQ(image->end_addr(), 17 * kMiB);
  // The setup header, 0x1f1 up to 0x202 + 0x6a, byte for byte.
  ASSERT_EQ(image->setup_header.size(), 0x26cu - 0x1f1u);
  EXPECT_TRUE(std::equal(image->setup_header.begin(), image->setup_header.end(), file.begin() + 0x1f1));
}

TEST(BzImage, SetupSectsZeroMeansFour) {
  BzImageBuilder b;
  b.set<uint8_t>(hdr::kSetupSects, 0);
  b.file.resize(0xa00 + 0x300);
  auto image = parse_bzimage(b.bytes(), k64MiB);
  ASSERT_TRUE(image.ok()) << image.error().message();
  EXPECT_EQ(image->segments[0].file_bytes.data(), b.file.data() + 0xa00);
  EXPECT_EQ(image->segments[0].file_bytes.size(), 0x300u);
}

TEST(BzImage, ChoosesLoadAddress) {
  struct Case {
    uint64_t pref_address;
    uint8_t relocatable;
    uint32_t alignment;
    uint64_t expected;
  };
  const Case cases[] = {
      {16 * kMiB, 1, 0x200000, 16 * kMiB},                 // preferred, aligned
      {0, 1, 0x200000, 2 * kMiB},                          // raised to 1 MiB, then aligned
      {0x1100000, 1, 0x200000, 0x1200000},                 // rounded up to kernel_alignment
      {0x1100000, 1, 0x1000, 0x1100000},                   // already aligned to 4 KiB
      {kMiB + 0x10, 0, 0x200000, kMiB + 0x10},             // non-relocatable: exactly pref_address
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.pref_address);
    BzImageBuilder b;
    b.set<uint64_t>(hdr::kPrefAddress, c.pref_address)
        .set<uint8_t>(hdr::kRelocatableKernel, c.relocatable)
        .set<uint32_t>(hdr::kKernelAlignment, c.alignment);
    auto image = parse_bzimage(b.bytes(), k64MiB);
    ASSERT_TRUE(image.ok()) << image.error().message();
    EXPECT_EQ(image->segments[0].guest_addr, c.expected);
    EXPECT_EQ(image->entry64, c.expected + 0x200);
  }
}

struct ErrorCase {
  const char* name;
  std::function<void(BzImageBuilder&)> bend;
  std::string expected;
};

TEST(BzImage, RefusesEachInvalidField) {
  const std::vector<ErrorCase> cases = {
      {"too short", [](BzImageBuilder& b) { b.file.resize(0x205); },
       "file of 517 bytes is too short to hold the boot sector and setup header magic"},
      {"boot flag", [](BzImageBuilder& b) { b.set<uint16_t>(hdr::kBootFlag, 0x1234); },
       "no boot_flag 0xaa55 at 0x1fe: not a bzImage"},
      {"HdrS", [](BzImageBuilder& b) { b.set<uint32_t>(hdr::kHeader, 0x53726449); },
       "no header magic \"HdrS\" at 0x202: not a bzImage"},
      {"no short jump", [](BzImageBuilder& b) { b.set<uint8_t>(hdr::kJump, 0xe9); },
       "byte at 0x200 is 0xe9, not the short jump (0xeb)"},
      {"header past zero page room", [](BzImageBuilder& b) { b.set<uint8_t>(hdr::kJump + 1, 0x8f); },
       "setup header ends at 0x291, past the 0x290 the zero page has room for"},
      {"header past file", [](BzImageBuilder& b) { b.file.resize(0x260); },
       "setup header ends at 0x26c, past the end of the 0x260-byte file"},
      {"header too short for version", [](BzImageBuilder& b) { b.set<uint8_t>(hdr::kJump + 1, 0x4); },
       "setup header ends at 0x206, before field version at 0x206"},
      {"old protocol", [](BzImageBuilder& b) { b.set<uint16_t>(hdr::kVersion, 0x0204); },
       "bzImage: boot protocol 2.04 is older than the 2.06 the monitor needs"},
      {"no LOADED_HIGH", [](BzImageBuilder& b) { b.set<uint8_t>(hdr::kLoadflags, 0x80); },
       "loadflags 0x80 lacks LOADED_HIGH (0x1)"},
      {"no xloadflags yet", [](BzImageBuilder& b) { b.set<uint16_t>(hdr::kVersion, 0x020a); },
       "boot protocol 2.10 predates xloadflags (2.12)"},
      {"header too short for xloadflags", [](BzImageBuilder& b) { b.set<uint8_t>(hdr::kJump + 1, 0x30); },
       "setup header ends at 0x232, before field xloadflags at 0x236"},
      {"no 64-bit entry", [](BzImageBuilder& b) { b.set<uint16_t>(hdr::kXloadflags, 0x2); },
       "xloadflags 0x2 lacks XLF_KERNEL_64 (0x1)"},
      {"header too short for pref_address", [](BzImageBuilder& b) { b.set<uint8_t>(hdr::kJump + 1, 0x50); },
       "setup header ends at 0x252, before field pref_address at 0x258"},
      {"header too short for init_size", [](BzImageBuilder& b) { b.set<uint8_t>(hdr::kJump + 1, 0x5f); },
       "setup header ends at 0x261, before field init_size at 0x260"},
      {"payload past file", [](BzImageBuilder& b) { b.set<uint8_t>(hdr::kSetupSects, 40); },
       "protected-mode payload at 0x5200 ((setup_sects 40 + 1) * 512) leaves no room for the "
       "64-bit entry at +0x200 in the 0x1400-byte file"},
      {"setup_sects over 32 KiB of real-mode code",
       [](BzImageBuilder& b) {
         b.set<uint8_t>(hdr::kSetupSects, 64);
         b.file.resize(0x20000);
       },
       "setup_sects 64 puts 33280 bytes of real-mode code before the payload, over the boot "
       "protocol's 32 KiB (setup_sects at most 63)"},
      {"setup_sects 255", [](BzImageBuilder& b) { b.set<uint8_t>(hdr::kSetupSects, 255).file.resize(0x40000); },
       "setup_sects 255 puts 131072 bytes"},
      {"setup_sects reaching into the payload syssize declares",
       [](BzImageBuilder& b) { b.set<uint32_t>(hdr::kSysSize, 0x1000 / 16).set<uint8_t>(hdr::kSetupSects, 2); },
       "syssize 0x100 declares a 0x1000-byte protected-mode payload, but only 0xe00 bytes follow "
       "the setup code at 0x600 (setup_sects 2 too large?)"},
      {"setup_sects 0 payload too short",
       [](BzImageBuilder& b) {
         b.set<uint8_t>(hdr::kSetupSects, 0);
         b.file.resize(0xa00 + 0x200);
       },
       "payload at 0xa00 ((setup_sects 4 + 1) * 512) leaves no room"},
      {"payload ends at entry", [](BzImageBuilder& b) { b.file.resize(0x600); },
       "payload at 0x400 ((setup_sects 1 + 1) * 512) leaves no room"},
      {"init_size below payload", [](BzImageBuilder& b) { b.set<uint32_t>(hdr::kInitSize, 0xfff); },
       "init_size 0xfff is smaller than the 0x1000-byte protected-mode payload"},
      {"non-relocatable below 1 MiB",
       [](BzImageBuilder& b) {
         b.set<uint8_t>(hdr::kRelocatableKernel, 0).set<uint64_t>(hdr::kPrefAddress, 0x10000);
       },
       "non-relocatable kernel wants pref_address 0x10000, below 0x100000 (1 MiB)"},
      {"alignment not a power of two", [](BzImageBuilder& b) { b.set<uint32_t>(hdr::kKernelAlignment, 0x300000); },
       "kernel_alignment 0x300000, which is not a power of two"},
      {"alignment zero", [](BzImageBuilder& b) { b.set<uint32_t>(hdr::kKernelAlignment, 0); },
       "kernel_alignment 0x0, which is not a power of two"},
      {"pref_address wraps when aligned", [](BzImageBuilder& b) { b.set<uint64_t>(hdr::kPrefAddress, UINT64_MAX - 0x10); },
       "pref_address 0xffffffffffffffef rounded up to kernel_alignment 0x200000 wraps"},
      {"pref_address near top, non-relocatable",
       [](BzImageBuilder& b) {
         b.set<uint8_t>(hdr::kRelocatableKernel, 0).set<uint64_t>(hdr::kPrefAddress, UINT64_MAX - 0x10);
       },
       "kernel needs init_size 0x100000 bytes of RAM from load address 0xffffffffffffffef"},
      {"init_size past RAM", [](BzImageBuilder& b) { b.set<uint32_t>(hdr::kInitSize, 48 * kMiB + 1); },
       "kernel needs init_size 0x3000001 bytes of RAM from load address 0x1000000, but guest RAM "
       "below 4 GiB ends at 0x4000000"},
      {"pref_address past RAM", [](BzImageBuilder& b) { b.set<uint64_t>(hdr::kPrefAddress, 0x100000000); },
       "from load address 0x100000000"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.name);
    BzImageBuilder b;
    c.bend(b);
    auto image = parse_bzimage(b.bytes(), k64MiB);
    ASSERT_FALSE(image.ok());
    EXPECT_NE(image.error().message().find(c.expected), std::string::npos) << image.error().message();
    EXPECT_EQ(image.error().message().rfind("bzImage: ", 0), 0u) << image.error().message();
  }
}

// The largest real-mode part the boot protocol allows, and a syssize that matches the payload
// exactly (what the kernel's build writes), are still accepted.
TEST(BzImage, AcceptsSetupSectsUpTo63AndAMatchingSyssize) {
  BzImageBuilder b;
  b.set<uint8_t>(hdr::kSetupSects, 63);
  std::vector<uint8_t> file(0x8000 + 0x1000, 0x90);
  std::copy(b.file.begin(), b.file.begin() + 0x400, file.begin());
  b.file = file;
  b.set<uint32_t>(hdr::kSysSize, 0x1000 / 16);
  auto image = parse_bzimage(b.bytes(), k64MiB);
  ASSERT_TRUE(image.ok()) << image.error().message();
  EXPECT_EQ(image->segments[0].file_bytes.data(), b.file.data() + 0x8000);
  EXPECT_EQ(image->segments[0].file_bytes.size(), 0x1000u);
}

TEST(BzImage, InitSizeEndingExactlyAtTopOfRamIsAccepted) {
  BzImageBuilder b;
  b.set<uint32_t>(hdr::kInitSize, 48 * kMiB);
  auto image = parse_bzimage(b.bytes(), k64MiB);
  ASSERT_TRUE(image.ok()) << image.error().message();
  EXPECT_EQ(image->end_addr(), 64 * kMiB);
}

TEST(BzImage, RefusesEveryTruncationOfTheHeader) {
  const std::vector<uint8_t> file = BzImageBuilder().bytes();
  for (size_t len = 0; len <= 0x600; ++len) {
    auto image = parse_bzimage(std::span(file).first(len), k64MiB);
    ASSERT_FALSE(image.ok()) << "accepted a file cut to " << len << " bytes";
  }
}

}  // namespace
}  // namespace bulwark::boot
