// bzImage kernels (Linux x86 boot protocol, Documentation/x86/boot.rst), entered through the
// 64-bit entry point at load address + 0x200 with the setup header copied into the zero page.
#pragma once

#include <cstdint>
#include <span>

#include "bulwark/common/result.h"
#include "monitor/boot/guest_layout.h"
#include "monitor/boot/kernel_image.h"

namespace bulwark::boot {

inline constexpr uint16_t kMinBootProtocol = 0x0206;    // cmdline_size exists from 2.06
inline constexpr uint16_t kXloadflagsProtocol = 0x020c;  // xloadflags (XLF_KERNEL_64) from 2.12
inline constexpr uint64_t kBzImage64BitEntryOffset = 0x200;
// boot_params.hdr starts at 0x1f1 and the zero page keeps room for it up to 0x290.
inline constexpr uint64_t kSetupHeaderOffset = 0x1f1;
inline constexpr uint64_t kSetupHeaderLimit = 0x290;

// Checks the boot sector flag 0xAA55 at 0x1fe, "HdrS" at 0x202, a short jump at 0x200 whose
// target (0x202 + byte at 0x201) ends the setup header inside the file and below 0x290,
// protocol >= 2.06, LOADED_HIGH and XLF_KERNEL_64 (so protocol >= 2.12 in practice). The
// protected-mode payload, from (setup_sects+1)*512 (setup_sects 0 means 4) to the end of the
// file, is loaded at max(1 MiB, pref_address), rounded up to kernel_alignment when the kernel
// is relocatable (a non-relocatable kernel must get exactly pref_address). From there the
// kernel needs init_size bytes of RAM below the MMIO hole: the single segment covers them
// (zero-filled past the payload), so nothing else is ever placed there.
Result<KernelImage> parse_bzimage(std::span<const uint8_t> file, const GuestLayout& layout);

}  // namespace bulwark::boot
