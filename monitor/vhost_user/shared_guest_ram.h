// Guest RAM as a vhost-user backend is given it: one memfd, mapped by the monitor, split into
// the RAM ranges of the guest layout (below the MMIO hole and above 4 GiB). The frontend sends
// the regions in SET_MEM_TABLE and turns ring guest-physical addresses into the monitor's own
// addresses, which is what vhost-user vring addresses are.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace bulwark::vhost_user {

struct SharedRamRegion {
  uint64_t guest_addr = 0;
  uint64_t size = 0;
  uint8_t* host = nullptr;  // the monitor's mapping of the region
  uint64_t fd_offset = 0;   // where the region starts in the memfd
};

struct SharedGuestRam {
  int memfd = -1;  // borrowed
  std::vector<SharedRamRegion> regions;

  // The monitor's address of [gpa, gpa+length) when it lies inside one region (overflow
  // checked); nullopt otherwise.
  std::optional<uint64_t> host_address(uint64_t gpa, uint64_t length) const;
};

}  // namespace bulwark::vhost_user
