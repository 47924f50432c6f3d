// Guest memory as a device process sees it: regions of guest-physical space mapped into this
// process. Every translation checks start + length against one region, with overflow checks;
// a range that crosses a region boundary is refused (the monitor's regions are not contiguous
// in host memory).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "bulwark/common/result.h"

namespace bulwark::virtio {

struct GuestRegion {
  uint64_t guest_addr = 0;
  uint64_t size = 0;
  uint64_t frontend_addr = 0;  // where the frontend (monitor) maps it: vhost-user ring addresses
  uint8_t* host = nullptr;     // where this process maps it
};

class GuestMemoryMap {
 public:
  // Refuses an empty region, one that wraps (in guest or frontend space) or overlaps another.
  Status add_region(GuestRegion region);

  // The host bytes of [gpa, gpa + length) if they lie in one region. Length 0 is allowed.
  std::optional<std::span<uint8_t>> translate(uint64_t gpa, uint64_t length) const;
  // The guest-physical address of a frontend virtual address.
  std::optional<uint64_t> frontend_to_guest(uint64_t frontend_addr) const;

  bool empty() const { return regions_.empty(); }
  const std::vector<GuestRegion>& regions() const { return regions_; }

 private:
  std::vector<GuestRegion> regions_;
};

}  // namespace bulwark::virtio
