#include "bench/vhost_user_blk/shared_memory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <utility>

namespace bulwark::bench {

Result<SharedMemory> SharedMemory::create(uint64_t size) {
  UniqueFd fd(::memfd_create("bench-guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd.valid()) return Error::from_errno("memfd_create", errno);
  if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) return Error::from_errno("ftruncate", errno);
  // Sealed like the monitor's guest RAM: a device must not see the region shrink under it.
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    return Error::from_errno("F_ADD_SEALS", errno);
  }
  void* base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (base == MAP_FAILED) return Error::from_errno("mmap", errno);
  return SharedMemory(std::move(fd), static_cast<uint8_t*>(base), size);
}

SharedMemory::SharedMemory(SharedMemory&& other) noexcept
    : fd_(std::move(other.fd_)), base_(std::exchange(other.base_, nullptr)), size_(std::exchange(other.size_, 0)) {}

SharedMemory::~SharedMemory() {
  if (base_ != nullptr) ::munmap(base_, size_);
}

std::span<uint8_t> SharedMemory::at(uint64_t gpa, uint64_t length) const {
  // Benchmark layout bug, not peer input: stop loudly rather than scribble.
  if (gpa > size_ || length > size_ - gpa) std::abort();
  return {base_ + gpa, length};
}

}  // namespace bulwark::bench
