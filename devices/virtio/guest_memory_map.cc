#include "devices/virtio/guest_memory_map.h"

#include "bulwark/common/byte_reader.h"

namespace bulwark::virtio {

namespace {

bool overlaps(uint64_t a, uint64_t a_size, uint64_t b, uint64_t b_size) {
  return a < b + b_size && b < a + a_size;  // callers checked that neither end wraps
}

}  // namespace

Status GuestMemoryMap::add_region(GuestRegion region) {
  if (region.size == 0) return Error("guest memory region is empty");
  if (region.host == nullptr) return Error("guest memory region is not mapped");
  if (!checked_add(region.guest_addr, region.size) || !checked_add(region.frontend_addr, region.size)) {
    return Error("guest memory region wraps around the address space");
  }
  for (const GuestRegion& other : regions_) {
    if (overlaps(region.guest_addr, region.size, other.guest_addr, other.size)) {
      return Error("guest memory regions overlap in guest-physical space");
    }
    if (overlaps(region.frontend_addr, region.size, other.frontend_addr, other.size)) {
      return Error("guest memory regions overlap in the frontend's address space");
    }
  }
  regions_.push_back(region);
  return ok_status();
}

std::optional<std::span<uint8_t>> GuestMemoryMap::translate(uint64_t gpa, uint64_t length) const {
  for (const GuestRegion& region : regions_) {
    if (gpa < region.guest_addr) continue;
    const uint64_t offset = gpa - region.guest_addr;
    if (!range_within(offset, length, region.size)) continue;
    return std::span<uint8_t>(region.host + offset, length);
  }
  return std::nullopt;
}

std::optional<uint64_t> GuestMemoryMap::frontend_to_guest(uint64_t frontend_addr) const {
  for (const GuestRegion& region : regions_) {
    if (frontend_addr < region.frontend_addr) continue;
    const uint64_t offset = frontend_addr - region.frontend_addr;
    if (offset < region.size) return region.guest_addr + offset;
  }
  return std::nullopt;
}

}  // namespace bulwark::virtio
