// Where the initrd goes: as high as the kernel allows, clear of the kernel and of the
// monitor's structures below 1 MiB, and below 4 GiB so the zero page's 32-bit fields hold it.
#pragma once

#include <cstdint>

#include "bulwark/common/result.h"
#include "monitor/boot/guest_layout.h"
#include "monitor/boot/kernel_image.h"

namespace bulwark::boot {

inline constexpr uint64_t kInitrdAlignment = 4096;

// Returns the page-aligned guest address of an initrd of `size` bytes (0 for size 0). The
// initrd must end at or below min(kernel.initrd_addr_max + 1, layout.low_ram_end()) (the
// latter is <= kMmioHoleStart), start at or above 1 MiB, and miss [kernel.lowest_addr(),
// kernel.end_addr()). The highest such address wins: above the kernel if it fits, else below.
Result<uint64_t> place_initrd(uint64_t size, const KernelImage& kernel, const GuestLayout& layout);

}  // namespace bulwark::boot
