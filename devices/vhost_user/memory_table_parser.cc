// SET_MEM_TABLE: u32 count, u32 padding, then `count` regions of 32 bytes, one fd per region.
#include <string>

#include "bulwark/common/byte_reader.h"
#include "devices/vhost_user/protocol.h"
#include "devices/vhost_user/wire_format.h"

namespace bulwark::vhost_user {

using wire::field;
using wire::named;

Result<std::vector<MemoryRegion>> parse_memory_table(const Message& message) {
  BULWARK_TRY(wire::expect_header(message, wire::kMemoryTableHeader));
  const uint32_t count = field<uint32_t>(message.payload, 0);
  if (count == 0 || count > kMaxMemoryRegions) {
    return Error(named(message) + ": " + std::to_string(count) + " regions, expected 1 to 8");
  }
  // Senders may pad the table to the protocol's maximum (QEMU does): accept exactly `count`
  // regions or the padded size, nothing in between.
  const size_t exact = wire::kMemoryTableHeader + count * wire::kMemoryRegionSize;
  const size_t padded = wire::kMemoryTableHeader + kMaxMemoryRegions * wire::kMemoryRegionSize;
  if (message.payload.size() != exact && message.payload.size() != padded) {
    return Error(named(message) + ": payload of " + std::to_string(message.payload.size()) +
                 " bytes does not hold " + std::to_string(count) + " regions");
  }
  BULWARK_TRY(wire::expect_fds(message, count));
  std::vector<MemoryRegion> regions;
  for (uint32_t i = 0; i < count; ++i) {
    const size_t at = wire::kMemoryTableHeader + i * wire::kMemoryRegionSize;
    MemoryRegion region;
    region.guest_phys_addr = field<uint64_t>(message.payload, at);
    region.memory_size = field<uint64_t>(message.payload, at + 8);
    region.userspace_addr = field<uint64_t>(message.payload, at + 16);
    region.mmap_offset = field<uint64_t>(message.payload, at + 24);
    const std::string which = named(message) + ": region " + std::to_string(i);
    if (region.memory_size == 0) return Error(which + " is empty");
    if (!checked_add(region.guest_phys_addr, region.memory_size) ||
        !checked_add(region.userspace_addr, region.memory_size) ||
        !checked_add(region.mmap_offset, region.memory_size)) {
      return Error(which + " wraps around the address space");
    }
    regions.push_back(region);
  }
  return regions;
}

}  // namespace bulwark::vhost_user
