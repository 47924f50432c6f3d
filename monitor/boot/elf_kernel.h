// ELF64 kernels: a Linux vmlinux or a freestanding test guest, loaded by physical address
// (p_paddr) and entered in 64-bit mode through identity-mapped page tables.
#pragma once

#include <cstdint>
#include <span>

#include "bulwark/common/result.h"
#include "monitor/boot/guest_layout.h"
#include "monitor/boot/kernel_image.h"

namespace bulwark::boot {

// Limits that keep a hostile image from making the monitor do unbounded work.
inline constexpr uint16_t kMaxElfProgramHeaders = 64;
inline constexpr size_t kMaxElfLoadSegments = 16;
inline constexpr uint64_t kMaxKernelMemBytes = uint64_t{1} << 30;  // sum of p_memsz

// Accepts only ELF64, little endian, EM_X86_64, ET_EXEC. Every non-empty PT_LOAD must lie
// inside the file (p_offset/p_filesz), have p_filesz <= p_memsz, and occupy guest RAM at
// [p_paddr, p_paddr+p_memsz) at or above 1 MiB and below the MMIO hole, overlapping no other
// segment. The entry point is e_entry when that lies inside a segment's physical range (what
// the CPU reaches through the identity map; a Linux vmlinux and the test guests); otherwise
// e_entry is taken as virtual and translated through the segment whose [p_vaddr,
// p_vaddr+p_memsz) contains it. An entry reachable neither way is refused.
Result<KernelImage> parse_elf_kernel(std::span<const uint8_t> file, const GuestLayout& layout);

}  // namespace bulwark::boot
