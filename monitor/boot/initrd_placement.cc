#include "monitor/boot/initrd_placement.h"

#include <algorithm>
#include <optional>
#include <string>

#include "monitor/boot/hex_format.h"

namespace bulwark::boot {
namespace {

uint64_t align_down(uint64_t v) { return v & ~(kInitrdAlignment - 1); }

// Highest aligned start in [bottom, top) that fits `size` bytes, if any.
std::optional<uint64_t> highest_fit(uint64_t bottom, uint64_t top, uint64_t size) {
  if (top <= bottom || top - bottom < size) return std::nullopt;
  const uint64_t start = align_down(top - size);
  if (start < bottom) return std::nullopt;
  return start;
}

}  // namespace

Result<uint64_t> place_initrd(uint64_t size, const KernelImage& kernel, const GuestLayout& layout) {
  if (size == 0) return uint64_t{0};
  // initrd_addr_max is the last byte the initrd may occupy.
  const uint64_t addr_limit = kernel.initrd_addr_max == UINT64_MAX ? UINT64_MAX
                                                                        : kernel.initrd_addr_max + 1;
  const uint64_t ceiling = std::min({addr_limit, layout.low_ram_end(), kMmioHoleStart});
  const uint64_t kernel_start = kernel.lowest_addr();
  const uint64_t kernel_end = kernel.end_addr();

  // Free gaps, higher first: above the kernel, then between 1 MiB and the kernel. Without
  // kernel segments the whole span is one gap.
  const uint64_t above_bottom = std::max(kernel_end, kHighMemStart);
  const uint64_t below_top = kernel_end == 0 ? kHighMemStart : std::min(kernel_start, ceiling);
  if (auto start = highest_fit(above_bottom, ceiling, size)) return *start;
  if (auto start = highest_fit(kHighMemStart, below_top, size)) return *start;

  const uint64_t above_gap = ceiling > above_bottom ? ceiling - above_bottom : 0;
  const uint64_t below_gap = below_top > kHighMemStart ? below_top - kHighMemStart : 0;
  return Error("initrd of " + hex(size) + " bytes does not fit between 0x100000 (1 MiB) and " +
               hex(ceiling) + " (the lowest of initrd_addr_max+1 " + hex(addr_limit) +
               " and the end of RAM below 4 GiB " + hex(layout.low_ram_end()) +
               ") outside the kernel at " + hex(kernel_start) + ".." + hex(kernel_end) +
               ": the largest free gap is " + hex(std::max(above_gap, below_gap)) + " bytes");
}

}  // namespace bulwark::boot
