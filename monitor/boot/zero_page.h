// The zero page (struct boot_params) the kernel finds through RSI at its 64-bit entry point.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "bulwark/common/result.h"
#include "monitor/boot/guest_layout.h"
#include "monitor/boot/kernel_image.h"

namespace bulwark::boot {

inline constexpr uint64_t kZeroPageSize = 4096;
inline constexpr size_t kMaxZeroPageE820Entries = 128;  // E820_MAX_ENTRIES_ZEROPAGE
// What the monitor writes into a synthesized setup header for an ELF kernel.
inline constexpr uint16_t kElfBootProtocol = 0x020f;
inline constexpr uint32_t kElfKernelAlignment = 0x1000000;
// Setup-header fields the loader fills (boot.rst): "undefined" loader id, heap end for the
// real-mode setup code (unused by the 64-bit entry, but the protocol asks for it).
inline constexpr uint8_t kTypeOfLoaderUndefined = 0xff;
inline constexpr uint16_t kHeapEndPtr = 0xfe00;

struct ZeroPageInputs {
  const KernelImage& kernel;
  uint64_t cmdline_addr = 0;
  uint64_t initrd_addr = 0;  // 0 with initrd_size 0: no initrd
  uint64_t initrd_size = 0;
  uint64_t acpi_rsdp_addr = 0;  // 0: not set, the kernel scans for the RSDP itself
  std::span<const E820Entry> e820;
};

// A zeroed boot_params with hdr taken from the bzImage (or synthesized for ELF: boot_flag
// 0xaa55, "HdrS", version 2.15, kernel_alignment 16 MiB) and then the loader's fields:
// type_of_loader 0xff, loadflags |= LOADED_HIGH|CAN_USE_HEAP (KEEP_SEGMENTS is obsolete and
// meaningless for the 64-bit entry, so it is left clear), heap_end_ptr 0xfe00, cmd_line_ptr,
// ramdisk_image/ramdisk_size, the e820 table and acpi_rsdp_addr. Addresses must be below
// 4 GiB (the 32-bit fields; ext_* stay 0). Returns exactly kZeroPageSize bytes.
Result<std::vector<uint8_t>> build_zero_page(const ZeroPageInputs& in);

}  // namespace bulwark::boot
