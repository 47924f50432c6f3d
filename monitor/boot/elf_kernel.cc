#include "monitor/boot/elf_kernel.h"

#include <elf.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "bulwark/common/byte_reader.h"
#include "monitor/boot/hex_format.h"

namespace bulwark::boot {
namespace {

Error elf_error(const std::string& what) { return Error("ELF kernel: " + what); }

Error phdr_error(size_t index, const std::string& what) {
  return elf_error("program header " + std::to_string(index) + ": " + what);
}

Status check_identity(const Elf64_Ehdr& eh) {
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) return elf_error("missing \\x7fELF magic");
  if (eh.e_ident[EI_CLASS] != ELFCLASS64)
    return elf_error("EI_CLASS " + std::to_string(eh.e_ident[EI_CLASS]) +
                     " is not ELFCLASS64 (2); only 64-bit kernels are supported");
  if (eh.e_ident[EI_DATA] != ELFDATA2LSB)
    return elf_error("EI_DATA " + std::to_string(eh.e_ident[EI_DATA]) +
                     " is not ELFDATA2LSB (1, little endian)");
  if (eh.e_ident[EI_VERSION] != EV_CURRENT)
    return elf_error("EI_VERSION " + std::to_string(eh.e_ident[EI_VERSION]) + " is not EV_CURRENT (1)");
  if (eh.e_machine != EM_X86_64)
    return elf_error("e_machine " + std::to_string(eh.e_machine) + " is not EM_X86_64 (62)");
  if (eh.e_type != ET_EXEC)
    return elf_error("e_type " + std::to_string(eh.e_type) +
                     " is not ET_EXEC (2); relocatable and shared objects cannot be booted");
  return ok_status();
}

// The program header table must lie inside the file; e_phnum is bounded before the
// multiplication so the size cannot overflow.
Status check_program_header_table(const Elf64_Ehdr& eh, uint64_t file_size) {
  if (eh.e_phentsize != sizeof(Elf64_Phdr))
    return elf_error("e_phentsize " + std::to_string(eh.e_phentsize) + " is not " +
                     std::to_string(sizeof(Elf64_Phdr)));
  if (eh.e_phnum == 0) return elf_error("e_phnum is 0: no program headers, nothing to load");
  if (eh.e_phnum == PN_XNUM)
    return elf_error("e_phnum is PN_XNUM (0xffff, count in section header 0); not supported");
  if (eh.e_phnum > kMaxElfProgramHeaders)
    return elf_error("e_phnum " + std::to_string(eh.e_phnum) + " exceeds the limit of " +
                     std::to_string(kMaxElfProgramHeaders));
  const uint64_t table_size = uint64_t{eh.e_phnum} * sizeof(Elf64_Phdr);
  if (!range_within(eh.e_phoff, table_size, file_size))
    return elf_error("program header table at e_phoff " + hex(eh.e_phoff) + " (" +
                     std::to_string(eh.e_phnum) + " x " + std::to_string(sizeof(Elf64_Phdr)) +
                     " bytes) runs past the end of the " + hex(file_size) + "-byte file");
  return ok_status();
}

// Validates one PT_LOAD against the file and guest RAM (not yet against other segments).
Status check_load_header(size_t index, const Elf64_Phdr& ph, uint64_t file_size,
                         const GuestLayout& layout) {
  if (ph.p_filesz > ph.p_memsz)
    return phdr_error(index, "p_filesz " + hex(ph.p_filesz) + " exceeds p_memsz " + hex(ph.p_memsz));
  if (!range_within(ph.p_offset, ph.p_filesz, file_size))
    return phdr_error(index, "p_offset " + hex(ph.p_offset) + " + p_filesz " + hex(ph.p_filesz) +
                                 " runs past the end of the " + hex(file_size) + "-byte file");
  if (ph.p_memsz == 0) return ok_status();  // places nothing, so its address does not matter
  const auto end = checked_add(ph.p_paddr, ph.p_memsz);
  if (!end)
    return phdr_error(index, "p_paddr " + hex(ph.p_paddr) + " + p_memsz " + hex(ph.p_memsz) +
                                 " wraps past the top of the address space");
  if (ph.p_paddr < kHighMemStart)
    return phdr_error(index, "p_paddr " + hex(ph.p_paddr) +
                                 " is below 0x100000 (1 MiB), where the monitor keeps its boot "
                                 "structures");
  if (*end > layout.low_ram_end() || !layout.is_ram(ph.p_paddr, ph.p_memsz))
    return phdr_error(index, "p_paddr " + hex(ph.p_paddr) + " + p_memsz " + hex(ph.p_memsz) +
                                 " ends at " + hex(*end) + ", past the end of guest RAM below "
                                 "4 GiB at " + hex(layout.low_ram_end()));
  return ok_status();
}

struct LoadedHeader {
  size_t index;  // program header index, for error messages
  Elf64_Phdr ph;
};

// Physical entry point: see parse_elf_kernel's contract.
Result<uint64_t> resolve_entry(uint64_t e_entry, const std::vector<LoadedHeader>& loads) {
  for (const LoadedHeader& l : loads) {
    if (e_entry >= l.ph.p_paddr && e_entry - l.ph.p_paddr < l.ph.p_memsz) return e_entry;
  }
  for (const LoadedHeader& l : loads) {
    if (e_entry >= l.ph.p_vaddr && e_entry - l.ph.p_vaddr < l.ph.p_memsz)
      return l.ph.p_paddr + (e_entry - l.ph.p_vaddr);  // < p_paddr + p_memsz, checked earlier
  }
  return elf_error("e_entry " + hex(e_entry) +
                   " lies in no PT_LOAD segment, neither physically (p_paddr) nor virtually "
                   "(p_vaddr)");
}

}  // namespace

Result<KernelImage> parse_elf_kernel(std::span<const uint8_t> file, const GuestLayout& layout) {
  const auto eh = read_le<Elf64_Ehdr>(file, 0);
  if (!eh)
    return elf_error("file of " + std::to_string(file.size()) + " bytes is shorter than the " +
                     std::to_string(sizeof(Elf64_Ehdr)) + "-byte ELF64 header");
  BULWARK_TRY(check_identity(*eh));
  BULWARK_TRY(check_program_header_table(*eh, file.size()));

  std::vector<LoadedHeader> loads;
  uint64_t total_mem = 0;
  for (size_t i = 0; i < eh->e_phnum; ++i) {
    const auto ph = read_le<Elf64_Phdr>(file, eh->e_phoff + i * sizeof(Elf64_Phdr));
    if (!ph) return phdr_error(i, "outside the file");  // unreachable: table checked above
    if (ph->p_type != PT_LOAD) continue;
    BULWARK_TRY(check_load_header(i, *ph, file.size(), layout));
    if (ph->p_memsz == 0) continue;  // places nothing
    for (const LoadedHeader& other : loads) {
      const uint64_t other_end = other.ph.p_paddr + other.ph.p_memsz;
      if (ph->p_paddr < other_end && other.ph.p_paddr < ph->p_paddr + ph->p_memsz)
        return phdr_error(i, "p_paddr " + hex(ph->p_paddr) + " + p_memsz " + hex(ph->p_memsz) +
                                 " overlaps program header " + std::to_string(other.index) +
                                 " at " + hex(other.ph.p_paddr) + ".." + hex(other_end));
    }
    if (loads.size() == kMaxElfLoadSegments)
      return elf_error("more than " + std::to_string(kMaxElfLoadSegments) +
                       " non-empty PT_LOAD segments");
    total_mem += ph->p_memsz;  // each is below 4 GiB, so no overflow for 16 of them
    if (total_mem > kMaxKernelMemBytes)
      return elf_error("PT_LOAD segments need " + hex(total_mem) + " bytes of memory, over the " +
                       hex(kMaxKernelMemBytes) + "-byte limit");
    loads.push_back({i, *ph});
  }
  if (loads.empty()) return elf_error("no non-empty PT_LOAD segment: nothing to load");

  KernelImage image;
  image.format = KernelFormat::kElf;
  auto entry = resolve_entry(eh->e_entry, loads);
  if (!entry) return entry.error();
  image.entry64 = *entry;
  for (const LoadedHeader& l : loads) {
    image.segments.push_back({l.ph.p_paddr, file.subspan(l.ph.p_offset, l.ph.p_filesz), l.ph.p_memsz});
  }
  std::sort(image.segments.begin(), image.segments.end(),
            [](const LoadSegment& a, const LoadSegment& b) { return a.guest_addr < b.guest_addr; });
  return image;
}

}  // namespace bulwark::boot
