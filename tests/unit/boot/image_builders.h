// Small synthetic kernel images for the boot tests and the corpus generator: a valid baseline
// that each test bends in exactly one way.
#pragma once

#include <elf.h>

#include <cstdint>
#include <span>
#include <type_traits>
#include <vector>

namespace bulwark::boot::testing {

inline constexpr uint64_t kMiB = 1024 * 1024;

// Byte i of every synthetic file: recognisable, so tests can tell which bytes landed where.
uint8_t pattern_byte(uint64_t i);

// An ELF64 x86-64 ET_EXEC with the program header table right after the ELF header.
// Baseline: one PT_LOAD of 0x200 file bytes at offset 0x1000, p_memsz 0x3000, placed at
// 1 MiB (p_vaddr == p_paddr, like a test guest), entry at 1 MiB; file size 0x1200.
struct ElfBuilder {
  ElfBuilder();
  Elf64_Ehdr header{};
  std::vector<Elf64_Phdr> phdrs;
  uint64_t file_size = 0x1200;

  Elf64_Phdr& load(size_t i = 0) { return phdrs.at(i); }
  // Appends a PT_LOAD with p_vaddr == p_paddr and returns its index.
  size_t add_load(uint64_t paddr, uint64_t offset, uint64_t filesz, uint64_t memsz);
  // e_phnum follows phdrs.size() unless override_phnum is set.
  bool override_phnum = false;
  std::vector<uint8_t> bytes() const;
};

// A bzImage with boot protocol 2.15: setup_sects 1 (payload at 0x400), setup header ending at
// 0x26c (jump 0xeb 0x6a), LOADED_HIGH, XLF_KERNEL_64, relocatable, kernel_alignment 2 MiB,
// pref_address 16 MiB, init_size 1 MiB, cmdline_size 0x7ff, initrd_addr_max 0x7fffffff and a
// 0x1000-byte payload.
struct BzImageBuilder {
  BzImageBuilder();
  std::vector<uint8_t> file;

  // Writes a little-endian field at its file offset (the same offset as in the zero page).
  template <typename T>
  BzImageBuilder& set(uint64_t offset, T value) {
    static_assert(std::is_integral_v<T>);
    if (file.size() < offset + sizeof(T)) file.resize(offset + sizeof(T));
    for (size_t i = 0; i < sizeof(T); ++i) file[offset + i] = static_cast<uint8_t>(static_cast<uint64_t>(value) >> (8 * i));
    return *this;
  }
  const std::vector<uint8_t>& bytes() const { return file; }
};

// Setup-header field offsets (boot.rst), used by tests to poke and read back.
namespace hdr {
inline constexpr uint64_t kSetupSects = 0x1f1;
inline constexpr uint64_t kSysSize = 0x1f4;
inline constexpr uint64_t kBootFlag = 0x1fe;
inline constexpr uint64_t kJump = 0x200;
inline constexpr uint64_t kHeader = 0x202;
inline constexpr uint64_t kVersion = 0x206;
inline constexpr uint64_t kTypeOfLoader = 0x210;
inline constexpr uint64_t kLoadflags = 0x211;
inline constexpr uint64_t kCode32Start = 0x214;
inline constexpr uint64_t kRamdiskImage = 0x218;
inline constexpr uint64_t kRamdiskSize = 0x21c;
inline constexpr uint64_t kHeapEndPtr = 0x224;
inline constexpr uint64_t kCmdLinePtr = 0x228;
inline constexpr uint64_t kInitrdAddrMax = 0x22c;
inline constexpr uint64_t kKernelAlignment = 0x230;
inline constexpr uint64_t kRelocatableKernel = 0x234;
inline constexpr uint64_t kXloadflags = 0x236;
inline constexpr uint64_t kCmdlineSize = 0x238;
inline constexpr uint64_t kPrefAddress = 0x258;
inline constexpr uint64_t kInitSize = 0x260;
}  // namespace hdr

// Zero-page offsets outside the setup header.
namespace zp {
inline constexpr uint64_t kAcpiRsdpAddr = 0x070;
inline constexpr uint64_t kExtRamdiskImage = 0x0c0;
inline constexpr uint64_t kE820Entries = 0x1e8;
inline constexpr uint64_t kSentinel = 0x1ef;
inline constexpr uint64_t kE820Table = 0x2d0;
inline constexpr uint64_t kE820EntrySize = 20;
}  // namespace zp

}  // namespace bulwark::boot::testing
