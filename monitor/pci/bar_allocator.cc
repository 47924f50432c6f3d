#include "monitor/pci/bar_allocator.h"

#include <algorithm>

#include "bulwark/common/byte_reader.h"

namespace bulwark::pci {
namespace {
constexpr uint64_t kPageSize = 4096;
}  // namespace

std::optional<uint64_t> BarAllocator::allocate(uint64_t size) {
  if (size == 0 || (size & (size - 1)) != 0 || size > (uint64_t{1} << 31)) return std::nullopt;
  const uint64_t align = std::max(size, kPageSize);
  const std::optional<uint64_t> bumped = checked_add(next_, align - 1);
  if (!bumped) return std::nullopt;
  const uint64_t base = *bumped & ~(align - 1);
  if (base < next_ || !range_within(base, size, end_)) return std::nullopt;
  next_ = base + std::max(size, kPageSize);
  return base;
}

}  // namespace bulwark::pci
