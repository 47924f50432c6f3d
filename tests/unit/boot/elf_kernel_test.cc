#include "monitor/boot/elf_kernel.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "tests/unit/boot/image_builders.h"

namespace bulwark::boot {
namespace {

using testing::ElfBuilder;
using testing::kMiB;

const GuestLayout k64MiB = GuestLayout::for_ram_size(64 * kMiB);

TEST(ElfKernel, AcceptsTestGuestAtOneMiB) {
  ElfBuilder b;
  const std::vector<uint8_t> file = b.bytes();
  auto image = parse_elf_kernel(file, k64MiB);
  ASSERT_TRUE(image.ok()) << image.error().message();
  EXPECT_EQ(image->format, KernelFormat::kElf);
  ASSERT_EQ(image->segments.size(), 1u);
  const LoadSegment& s = image->segments[0];
  EXPECT_EQ(s.guest_addr, kMiB);
  EXPECT_EQ(s.mem_size, 0x3000u);
  ASSERT_EQ(s.file_bytes.size(), 0x200u);
  EXPECT_EQ(s.file_bytes.data(), file.data() + 0x1000);  // the file's own bytes, not a copy
  EXPECT_EQ(image->entry64, kMiB);
  EXPECT_EQ(image->lowest_addr(), kMiB);
  EXPECT_EQ(image->end_addr(), kMiB + 0x3000);
  EXPECT_TRUE(image->setup_header.empty());
  EXPECT_EQ(image->cmdline_limit, kElfCmdlineLimit);
  EXPECT_EQ(image->initrd_addr_max, 0x7fffffffu);
}

TEST(ElfKernel, TranslatesVirtualEntryThroughItsSegment) {
  // Like a Linux vmlinux linked at 0xffffffff81000000 and placed at 16 MiB.
  ElfBuilder b;
  b.load().p_paddr = 16 * kMiB;
  b.load().p_vaddr = 0xffffffff81000000;
  b.header.e_entry = 0xffffffff81000180;
  auto image = parse_elf_kernel(b.bytes(), k64MiB);
  ASSERT_TRUE(image.ok()) << image.error().message();
  EXPECT_EQ(image->entry64, 16 * kMiB + 0x180);
  EXPECT_EQ(image->segments[0].guest_addr, 16 * kMiB);
}

TEST(ElfKernel, PhysicalEntryWinsOverVirtualMatch) {
  // e_entry lies in segment 1's physical range and in segment 0's virtual range: the CPU,
  // running on identity page tables, reaches the physical one.
  ElfBuilder b;
  b.load().p_vaddr = 8 * kMiB;
  const size_t second = b.add_load(8 * kMiB, 0x1000, 0x100, 0x1000);
  b.phdrs[second].p_vaddr = 0xffffffff82000000;
  b.header.e_entry = 8 * kMiB + 0x10;
  auto image = parse_elf_kernel(b.bytes(), k64MiB);
  ASSERT_TRUE(image.ok()) << image.error().message();
  EXPECT_EQ(image->entry64, 8 * kMiB + 0x10);
}

TEST(ElfKernel, SortsSegmentsAndIgnoresOtherHeaders) {
  ElfBuilder b;
  b.load().p_paddr = b.load().p_vaddr = 4 * kMiB;
  b.header.e_entry = 4 * kMiB;
  b.add_load(2 * kMiB, 0x1100, 0x100, 0x2000);
  Elf64_Phdr note{};
  note.p_type = PT_NOTE;
  note.p_offset = UINT64_MAX;  // never read: only PT_LOAD matters
  note.p_filesz = UINT64_MAX;
  b.phdrs.push_back(note);
  b.add_load(0, 0, 0, 0);  // empty PT_LOAD at 0: places nothing, so it is not refused
  auto image = parse_elf_kernel(b.bytes(), k64MiB);
  ASSERT_TRUE(image.ok()) << image.error().message();
  ASSERT_EQ(image->segments.size(), 2u);
  EXPECT_EQ(image->segments[0].guest_addr, 2 * kMiB);
  EXPECT_EQ(image->segments[1].guest_addr, 4 * kMiB);
  EXPECT_EQ(image->lowest_addr(), 2 * kMiB);
  EXPECT_EQ(image->end_addr(), 4 * kMiB + 0x3000);
}

TEST(ElfKernel, AcceptsTouchingSegmentsAndOneEndingAtTopOfRam) {
  ElfBuilder b;
  b.load().p_paddr = b.load().p_vaddr = 64 * kMiB - 0x3000;  // ends exactly at the end of RAM
  b.header.e_entry = 64 * kMiB - 0x3000;
  b.add_load(64 * kMiB - 0x5000, 0x1000, 0x100, 0x2000);  // ends where segment 0 starts
  auto image = parse_elf_kernel(b.bytes(), k64MiB);
  ASSERT_TRUE(image.ok()) << image.error().message();
  EXPECT_EQ(image->end_addr(), 64 * kMiB);
}

struct ErrorCase {
  const char* name;
  std::function<void(ElfBuilder&)> bend;
  std::string expected;
  GuestLayout layout = k64MiB;
};

TEST(ElfKernel, RefusesEachInvalidField) {
  const std::vector<ErrorCase> cases = {
      {"bad magic", [](ElfBuilder& b) { b.header.e_ident[1] = 'X'; }, "missing \\x7fELF magic"},
      {"32-bit", [](ElfBuilder& b) { b.header.e_ident[EI_CLASS] = ELFCLASS32; },
       "EI_CLASS 1 is not ELFCLASS64"},
      {"big endian", [](ElfBuilder& b) { b.header.e_ident[EI_DATA] = ELFDATA2MSB; },
       "EI_DATA 2 is not ELFDATA2LSB"},
      {"ident version", [](ElfBuilder& b) { b.header.e_ident[EI_VERSION] = 0; },
       "EI_VERSION 0 is not EV_CURRENT"},
      {"i386", [](ElfBuilder& b) { b.header.e_machine = EM_386; }, "e_machine 3 is not EM_X86_64"},
      {"shared object", [](ElfBuilder& b) { b.header.e_type = ET_DYN; }, "e_type 3 is not ET_EXEC"},
      {"phentsize", [](ElfBuilder& b) { b.header.e_phentsize = 32; }, "e_phentsize 32 is not 56"},
      {"no phdrs", [](ElfBuilder& b) { b.phdrs.clear(); }, "e_phnum is 0"},
      {"PN_XNUM",
       [](ElfBuilder& b) {
         b.override_phnum = true;
         b.header.e_phnum = PN_XNUM;
       },
       "e_phnum is PN_XNUM"},
      {"phnum over limit",
       [](ElfBuilder& b) {
         b.override_phnum = true;
         b.header.e_phnum = 65;
       },
       "e_phnum 65 exceeds the limit of 64"},
      {"phoff near UINT64_MAX", [](ElfBuilder& b) { b.header.e_phoff = UINT64_MAX - 8; },
       "program header table at e_phoff 0xfffffffffffffff7 (1 x 56 bytes) runs past the end of "
       "the 0x1200-byte file"},
      {"table straddles end", [](ElfBuilder& b) { b.header.e_phoff = 0x1200 - 55; },
       "program header table at e_phoff 0x11c9"},
      {"phnum beyond file",
       [](ElfBuilder& b) {
         b.override_phnum = true;
         b.header.e_phnum = 64;
         b.file_size = 0x400;
         b.load().p_offset = 0x100;
       },
       "(64 x 56 bytes) runs past the end of the 0x400-byte file"},
      {"filesz > memsz", [](ElfBuilder& b) { b.load().p_memsz = 0x100; },
       "program header 0: p_filesz 0x200 exceeds p_memsz 0x100"},
      {"offset near UINT64_MAX", [](ElfBuilder& b) { b.load().p_offset = UINT64_MAX - 0xf; },
       "program header 0: p_offset 0xfffffffffffffff0 + p_filesz 0x200 runs past the end of the "
       "0x1200-byte file"},
      {"filesz past file", [](ElfBuilder& b) { b.load().p_filesz = 0x201; },
       "p_offset 0x1000 + p_filesz 0x201 runs past the end"},
      {"paddr+memsz wraps",
       [](ElfBuilder& b) {
         b.load().p_paddr = UINT64_MAX - 0xfff;
         b.load().p_memsz = 0x2000;
       },
       "p_paddr 0xfffffffffffff000 + p_memsz 0x2000 wraps past the top of the address space"},
      {"below 1 MiB", [](ElfBuilder& b) { b.load().p_paddr = 0xff000; },
       "p_paddr 0xff000 is below 0x100000 (1 MiB)"},
      {"past end of RAM", [](ElfBuilder& b) { b.load().p_paddr = 64 * kMiB - 0x2000; },
       "p_paddr 0x3ffe000 + p_memsz 0x3000 ends at 0x4001000, past the end of guest RAM below "
       "4 GiB at 0x4000000"},
      {"in RAM above 4 GiB", [](ElfBuilder& b) { b.load().p_paddr = 0x100000000; },
       "ends at 0x100003000, past the end of guest RAM below 4 GiB at 0xc0000000",
       GuestLayout::for_ram_size(uint64_t{5} << 30)},
      {"in the MMIO hole", [](ElfBuilder& b) { b.load().p_paddr = 0xfec00000; },
       "past the end of guest RAM below 4 GiB at 0xc0000000", GuestLayout::for_ram_size(uint64_t{5} << 30)},
      {"overlap",
       [](ElfBuilder& b) { b.add_load(kMiB + 0x2000, 0x1000, 0x10, 0x1000); },
       "program header 1: p_paddr 0x102000 + p_memsz 0x1000 overlaps program header 0 at "
       "0x100000..0x103000"},
      {"overlap containing an earlier one",
       [](ElfBuilder& b) {
         b.load().p_paddr = b.load().p_vaddr = 2 * kMiB;
         b.header.e_entry = 2 * kMiB;
         b.add_load(kMiB, 0x1000, 0x10, 4 * kMiB);
       },
       "program header 1: p_paddr 0x100000 + p_memsz 0x400000 overlaps program header 0 at "
       "0x200000..0x203000"},
      {"no PT_LOAD", [](ElfBuilder& b) { b.load().p_type = PT_NOTE; }, "no non-empty PT_LOAD segment"},
      {"only an empty PT_LOAD",
       [](ElfBuilder& b) {
         b.load().p_filesz = 0;
         b.load().p_memsz = 0;
       },
       "no non-empty PT_LOAD segment"},
      {"too many segments",
       [](ElfBuilder& b) {
         for (uint64_t i = 1; i <= 16; ++i) b.add_load(kMiB + i * 0x10000, 0x1000, 0x10, 0x1000);
       },
       "more than 16 non-empty PT_LOAD segments"},
      {"too much memory",
       [](ElfBuilder& b) {
         b.add_load(16 * kMiB, 0x1000, 0x10, 600 * kMiB);
         b.add_load(700 * kMiB, 0x1000, 0x10, 600 * kMiB);
       },
       "need 0x4b003000 bytes of memory, over the 0x40000000-byte limit",
       GuestLayout::for_ram_size(uint64_t{2} << 30)},
      {"entry outside segments", [](ElfBuilder& b) { b.header.e_entry = kMiB + 0x3000; },
       "e_entry 0x103000 lies in no PT_LOAD segment"},
      {"virtual entry outside segments",
       [](ElfBuilder& b) {
         b.load().p_vaddr = 0xffffffff81000000;
         b.header.e_entry = 0xffffffff81003000;
       },
       "e_entry 0xffffffff81003000 lies in no PT_LOAD segment"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.name);
    ElfBuilder b;
    c.bend(b);
    auto image = parse_elf_kernel(b.bytes(), c.layout);
    ASSERT_FALSE(image.ok());
    EXPECT_NE(image.error().message().find(c.expected), std::string::npos) << image.error().message();
    EXPECT_EQ(image.error().message().rfind("ELF kernel: ", 0), 0u) << image.error().message();
  }
}

TEST(ElfKernel, RefusesEveryTruncationOfAValidImage) {
  const std::vector<uint8_t> file = ElfBuilder().bytes();
  for (size_t len = 0; len < file.size(); ++len) {
    auto image = parse_elf_kernel(std::span(file).first(len), k64MiB);
    ASSERT_FALSE(image.ok()) << "accepted a file cut to " << len << " bytes";
  }
  auto short_header = parse_elf_kernel(std::span(file).first(63), k64MiB);
  EXPECT_EQ(short_header.error().message(),
            "ELF kernel: file of 63 bytes is shorter than the 64-byte ELF64 header");
}

}  // namespace
}  // namespace bulwark::boot
