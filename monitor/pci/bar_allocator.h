// Places 32-bit memory BARs in the MMIO hole, each naturally aligned (as PCI requires: the BAR
// holds only the address bits above its size) and at least page aligned, so guests can map
// each BAR on its own pages.
#pragma once

#include <cstdint>
#include <optional>

#include "monitor/boot/guest_layout.h"

namespace bulwark::pci {

// The PCI MMIO window: the hole's start up to the IOAPIC (nothing above is for BARs).
inline constexpr uint64_t kPciMmioWindowBase = boot::kMmioHoleStart;
inline constexpr uint64_t kPciMmioWindowEnd = boot::kIoApicAddr;

class BarAllocator {
 public:
  BarAllocator(uint64_t window_base, uint64_t window_end) : next_(window_base), end_(window_end) {}
  // nullopt when `size` is not a power of two or the window is full.
  std::optional<uint64_t> allocate(uint64_t size);

 private:
  uint64_t next_;
  uint64_t end_;
};

}  // namespace bulwark::pci
