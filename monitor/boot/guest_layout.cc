#include "monitor/boot/guest_layout.h"

#include <algorithm>

namespace bulwark::boot {

GuestLayout GuestLayout::for_ram_size(uint64_t ram_bytes) {
  GuestLayout layout;
  layout.ram_bytes_ = ram_bytes;
  const uint64_t low = std::min(ram_bytes, kMmioHoleStart);
  layout.ram_.push_back({0, low});
  if (ram_bytes > low) layout.ram_.push_back({kMmioHoleEnd, ram_bytes - low});
  return layout;
}

bool GuestLayout::is_ram(uint64_t addr, uint64_t len) const {
  for (const RamRange& r : ram_) {
    if (addr >= r.guest_addr && addr - r.guest_addr <= r.size && len <= r.size - (addr - r.guest_addr))
      return true;
  }
  return false;
}

std::vector<E820Entry> GuestLayout::e820_map() const {
  std::vector<E820Entry> map;
  map.push_back({0, kEbdaStart, E820Type::kRam});
  map.push_back({kEbdaStart, kHighMemStart - kEbdaStart, E820Type::kReserved});
  const uint64_t low_end = low_ram_end();
  if (low_end > kHighMemStart) map.push_back({kHighMemStart, low_end - kHighMemStart, E820Type::kRam});
  for (size_t i = 1; i < ram_.size(); ++i) map.push_back({ram_[i].guest_addr, ram_[i].size, E820Type::kRam});
  return map;
}

}  // namespace bulwark::boot
