// The guest memory a frontend shares through SET_MEM_TABLE, mapped into this process. The
// mappings live as long as this object.
#pragma once

#include <span>
#include <vector>

#include "bulwark/common/result.h"
#include "devices/vhost_user/protocol.h"
#include "devices/virtio/guest_memory_map.h"

namespace bulwark::virtio {

class MappedGuestMemory {
 public:
  // Maps each region's fd (MAP_SHARED, read/write) from mmap_offset, after checking that
  // mmap_offset + memory_size lies within the file (fstat).
  static Result<MappedGuestMemory> map(std::span<const vhost_user::MemoryRegion> regions,
                                       std::span<const int> fds);

  MappedGuestMemory(MappedGuestMemory&& other) noexcept;
  MappedGuestMemory& operator=(MappedGuestMemory&& other) noexcept;
  MappedGuestMemory(const MappedGuestMemory&) = delete;
  MappedGuestMemory& operator=(const MappedGuestMemory&) = delete;
  ~MappedGuestMemory();

  const GuestMemoryMap& map() const { return map_; }

 private:
  MappedGuestMemory() = default;
  void unmap_all();
  struct Mapping {
    void* address;
    size_t length;
  };
  std::vector<Mapping> mappings_;
  GuestMemoryMap map_;
};

}  // namespace bulwark::virtio
