#include "tests/unit/boot/image_builders.h"

#include <algorithm>
#include <cstring>

namespace bulwark::boot::testing {

uint8_t pattern_byte(uint64_t i) { return static_cast<uint8_t>((i * 7 + 3) ^ (i >> 8)); }

ElfBuilder::ElfBuilder() {
  std::memcpy(header.e_ident, ELFMAG, SELFMAG);
  header.e_ident[EI_CLASS] = ELFCLASS64;
  header.e_ident[EI_DATA] = ELFDATA2LSB;
  header.e_ident[EI_VERSION] = EV_CURRENT;
  header.e_type = ET_EXEC;
  header.e_machine = EM_X86_64;
  header.e_version = EV_CURRENT;
  header.e_entry = kMiB;
  header.e_phoff = sizeof(Elf64_Ehdr);
  header.e_ehsize = sizeof(Elf64_Ehdr);
  header.e_phentsize = sizeof(Elf64_Phdr);
  add_load(kMiB, 0x1000, 0x200, 0x3000);
}

size_t ElfBuilder::add_load(uint64_t paddr, uint64_t offset, uint64_t filesz, uint64_t memsz) {
  Elf64_Phdr ph{};
  ph.p_type = PT_LOAD;
  ph.p_flags = PF_R | PF_X;
  ph.p_offset = offset;
  ph.p_vaddr = paddr;
  ph.p_paddr = paddr;
  ph.p_filesz = filesz;
  ph.p_memsz = memsz;
  ph.p_align = 0x1000;
  phdrs.push_back(ph);
  return phdrs.size() - 1;
}

std::vector<uint8_t> ElfBuilder::bytes() const {
  std::vector<uint8_t> out(file_size);
  for (uint64_t i = 0; i < out.size(); ++i) out[i] = pattern_byte(i);
  Elf64_Ehdr eh = header;
  if (!override_phnum) eh.e_phnum = static_cast<Elf64_Half>(phdrs.size());
  std::memcpy(out.data(), &eh, std::min<size_t>(sizeof(eh), out.size()));
  // The table goes where e_phoff says when it fits; tests of a bad e_phoff need no table.
  const uint64_t table = phdrs.size() * sizeof(Elf64_Phdr);
  if (header.e_phoff <= out.size() && table <= out.size() - header.e_phoff)
    std::memcpy(out.data() + header.e_phoff, phdrs.data(), table);
  return out;
}

BzImageBuilder::BzImageBuilder() {
  file.resize(0x400 + 0x1000);
  for (uint64_t i = 0; i < file.size(); ++i) file[i] = pattern_byte(i);
  // Clear the setup header so only the fields below are set.
  std::memset(file.data() + hdr::kSetupSects, 0, 0x26c - hdr::kSetupSects);
  set<uint8_t>(hdr::kSetupSects, 1);
  set<uint16_t>(hdr::kBootFlag, 0xaa55);
  set<uint8_t>(hdr::kJump, 0xeb);
  set<uint8_t>(hdr::kJump + 1, 0x6a);  // header ends at 0x26c
  set<uint32_t>(hdr::kHeader, 0x53726448);
  set<uint16_t>(hdr::kVersion, 0x020f);
  set<uint8_t>(hdr::kLoadflags, 0x01);  // LOADED_HIGH
  set<uint32_t>(hdr::kCode32Start, 0x100000);
  set<uint32_t>(hdr::kInitrdAddrMax, 0x7fffffff);
  set<uint32_t>(hdr::kKernelAlignment, 0x200000);
  set<uint8_t>(hdr::kRelocatableKernel, 1);
  set<uint16_t>(hdr::kXloadflags, 0x1);  // XLF_KERNEL_64
  set<uint32_t>(hdr::kCmdlineSize, 0x7ff);
  set<uint64_t>(hdr::kPrefAddress, 0x1000000);
  set<uint32_t>(hdr::kInitSize, 0x100000);
  // Bytes 0x26c..0x290 keep the pattern: they are past the header and must not reach the
  // zero page.
}

}  // namespace bulwark::boot::testing
