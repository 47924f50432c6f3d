#include "devices/virtio/mapped_memory.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <string>
#include <utility>

#include "bulwark/common/byte_reader.h"

namespace bulwark::virtio {

Result<MappedGuestMemory> MappedGuestMemory::map(std::span<const vhost_user::MemoryRegion> regions,
                                                 std::span<const int> fds) {
  if (regions.size() != fds.size()) return Error("guest memory: one fd per region expected");
  MappedGuestMemory memory;
  for (size_t i = 0; i < regions.size(); ++i) {
    const vhost_user::MemoryRegion& region = regions[i];
    const std::string which = "guest memory region " + std::to_string(i);
    struct stat st{};
    if (::fstat(fds[i], &st) != 0) return Error::from_errno(which + ": fstat", errno);
    if (st.st_size < 0 || !range_within(region.mmap_offset, region.memory_size,
                                        static_cast<uint64_t>(st.st_size))) {
      return Error(which + ": extends beyond its file");
    }
    if (region.memory_size > SIZE_MAX) return Error(which + ": too large");
    void* address = ::mmap(nullptr, region.memory_size, PROT_READ | PROT_WRITE, MAP_SHARED, fds[i],
                           static_cast<off_t>(region.mmap_offset));
    if (address == MAP_FAILED) return Error::from_errno(which + ": mmap", errno);
    memory.mappings_.push_back({address, region.memory_size});
    BULWARK_TRY(memory.map_.add_region({region.guest_phys_addr, region.memory_size,
                                        region.userspace_addr, static_cast<uint8_t*>(address)}));
  }
  return memory;
}

MappedGuestMemory::MappedGuestMemory(MappedGuestMemory&& other) noexcept
    : mappings_(std::exchange(other.mappings_, {})), map_(std::exchange(other.map_, {})) {}

MappedGuestMemory& MappedGuestMemory::operator=(MappedGuestMemory&& other) noexcept {
  if (this != &other) {
    unmap_all();
    mappings_ = std::exchange(other.mappings_, {});
    map_ = std::exchange(other.map_, {});
  }
  return *this;
}

MappedGuestMemory::~MappedGuestMemory() { unmap_all(); }

void MappedGuestMemory::unmap_all() {
  for (const Mapping& mapping : mappings_) ::munmap(mapping.address, mapping.length);
  mappings_.clear();
  map_ = GuestMemoryMap();
}

}  // namespace bulwark::virtio
