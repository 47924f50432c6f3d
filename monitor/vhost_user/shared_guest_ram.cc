#include "monitor/vhost_user/shared_guest_ram.h"

#include "bulwark/common/byte_reader.h"

namespace bulwark::vhost_user {

std::optional<uint64_t> SharedGuestRam::host_address(uint64_t gpa, uint64_t length) const {
  for (const SharedRamRegion& region : regions) {
    if (gpa < region.guest_addr) continue;
    if (!range_within(gpa - region.guest_addr, length, region.size)) continue;
    return reinterpret_cast<uint64_t>(region.host) + (gpa - region.guest_addr);
  }
  return std::nullopt;
}

}  // namespace bulwark::vhost_user
