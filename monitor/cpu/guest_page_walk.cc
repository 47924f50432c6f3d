#include "monitor/cpu/guest_page_walk.h"

#include <cstring>

namespace bulwark::cpu {
namespace {
constexpr uint64_t kPresent = 1;
constexpr uint64_t kPageSize = 1u << 7;  // PS bit: a large page at PDPT or PD level
constexpr uint64_t kAddressMask = 0x000ffffffffff000ULL;

std::optional<uint64_t> read_physical_u64(const GuestPhysicalView& ram, uint64_t gpa) {
  auto bytes = ram(gpa, 8);
  if (!bytes || bytes->size() != 8) return std::nullopt;
  uint64_t value;
  std::memcpy(&value, bytes->data(), 8);
  return value;
}
}  // namespace

std::optional<uint64_t> translate_guest_virtual(const GuestPhysicalView& ram, uint64_t cr3, uint64_t gva) {
  uint64_t table = cr3 & kAddressMask;
  // Levels: 3 = PML4, 2 = PDPT, 1 = PD, 0 = PT. Exactly four steps: no loop can run longer.
  for (int level = 3; level >= 0; --level) {
    const uint64_t index = (gva >> (12 + 9 * level)) & 0x1ff;
    auto entry = read_physical_u64(ram, table + index * 8);
    if (!entry || (*entry & kPresent) == 0) return std::nullopt;
    if ((level == 1 || level == 2) && (*entry & kPageSize) != 0) {
      const uint64_t page_bytes = 1ULL << (12 + 9 * level);
      return (*entry & kAddressMask & ~(page_bytes - 1)) | (gva & (page_bytes - 1));
    }
    table = *entry & kAddressMask;
  }
  return table | (gva & 0xfff);
}

std::optional<uint64_t> read_guest_virtual_u64(const GuestPhysicalView& ram, uint64_t cr3, uint64_t gva) {
  uint8_t bytes[8];
  for (uint64_t i = 0; i < 8; ++i) {
    // Translate per byte only when crossing a page; cheap enough for the rare callers.
    auto gpa = translate_guest_virtual(ram, cr3, gva + i);
    if (!gpa) return std::nullopt;
    auto byte = ram(*gpa, 1);
    if (!byte || byte->empty()) return std::nullopt;
    bytes[i] = (*byte)[0];
  }
  uint64_t value;
  std::memcpy(&value, bytes, 8);
  return value;
}

}  // namespace bulwark::cpu
