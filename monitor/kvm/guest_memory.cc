#include "monitor/kvm/guest_memory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace bulwark::kvm {

Result<GuestMemory> GuestMemory::create(const boot::GuestLayout& layout) {
  const uint64_t size = layout.ram_bytes();
  UniqueFd fd(::memfd_create("bulwark-guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd.valid()) return Error::from_errno("guest RAM: memfd_create", errno);
  if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0)
    return Error::from_errno("guest RAM: ftruncate to " + std::to_string(size) + " bytes", errno);
  // A sealed size means no process holding the fd (later: a device process) can shrink it
  // under the monitor's mapping and turn guest accesses into SIGBUS.
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
    return Error::from_errno("guest RAM: sealing the memfd", errno);
  void* base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd.get(), 0);
  if (base == MAP_FAILED) return Error::from_errno("guest RAM: mmap of " + std::to_string(size) + " bytes", errno);
  // Guest memory never belongs in a core dump of the monitor.
  ::madvise(base, size, MADV_DONTDUMP);
  return GuestMemory(layout, std::move(fd), static_cast<uint8_t*>(base), size);
}

GuestMemory::~GuestMemory() {
  if (base_ != nullptr) ::munmap(base_, size_);
}

GuestMemory::GuestMemory(GuestMemory&& other) noexcept
    : layout_(other.layout_),
      memfd_(std::move(other.memfd_)),
      base_(std::exchange(other.base_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

uint8_t* GuestMemory::host_address_of_range(size_t index) const {
  uint64_t offset = 0;
  for (size_t i = 0; i < index; ++i) offset += layout_.ram_ranges()[i].size;
  return base_ + offset;
}

std::optional<std::span<uint8_t>> GuestMemory::span(uint64_t gpa, uint64_t len) const {
  uint64_t offset = 0;
  for (const boot::RamRange& r : layout_.ram_ranges()) {
    if (gpa >= r.guest_addr) {
      const uint64_t into = gpa - r.guest_addr;
      if (into <= r.size && len <= r.size - into) return std::span<uint8_t>(base_ + offset + into, len);
    }
    offset += r.size;
  }
  return std::nullopt;
}

}  // namespace bulwark::kvm
