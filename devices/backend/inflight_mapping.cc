// See inflight_mapping.h.
#include "devices/backend/inflight_mapping.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <utility>

#include "bulwark/common/byte_reader.h"
#include "devices/inflight/split_inflight.h"

namespace bulwark::backend {

Result<InflightMapping> InflightMapping::create(uint16_t queues, uint16_t queue_size) {
  const size_t bytes = inflight::record_bytes(queues, queue_size);
  if (bytes == 0) return Error("in-flight record: no queues");
  UniqueFd fd(::memfd_create("bulwark-inflight", MFD_CLOEXEC));
  if (!fd.valid()) return Error::from_errno("in-flight record: memfd_create", errno);
  if (::ftruncate(fd.get(), static_cast<off_t>(bytes)) != 0) {
    return Error::from_errno("in-flight record: ftruncate to " + std::to_string(bytes) + " bytes", errno);
  }
  void* base = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (base == MAP_FAILED) return Error::from_errno("in-flight record: mmap", errno);
  return InflightMapping(std::move(fd), static_cast<uint8_t*>(base), bytes, 0, queues, queue_size);
}

Result<InflightMapping> InflightMapping::adopt(int fd, const vhost_user::InflightDescription& description) {
  const size_t needed = inflight::record_bytes(description.num_queues, description.queue_size);
  if (description.mmap_size < needed) {
    return Error("in-flight record: " + std::to_string(description.mmap_size) + " bytes for " +
                 std::to_string(description.num_queues) + " queues of " + std::to_string(description.queue_size) +
                 ", which need " + std::to_string(needed));
  }
  const std::optional<uint64_t> end_or = checked_add(description.mmap_offset, uint64_t{needed});
  if (!end_or) return Error("in-flight record: offset and size overflow");
  const uint64_t end = *end_or;
  struct stat st{};
  if (::fstat(fd, &st) != 0) return Error::from_errno("in-flight record: fstat", errno);
  if (st.st_size < 0 || static_cast<uint64_t>(st.st_size) < end) {
    return Error("in-flight record: the file holds " + std::to_string(st.st_size) + " bytes, the record ends at " +
                 std::to_string(end));
  }
  // The offset is page-aligned (the parser checked), so it can be the mapping's own offset.
  void* base = ::mmap(nullptr, needed, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                      static_cast<off_t>(description.mmap_offset));
  if (base == MAP_FAILED) return Error::from_errno("in-flight record: mmap", errno);
  return InflightMapping(UniqueFd(), static_cast<uint8_t*>(base), needed, 0, description.num_queues,
                         description.queue_size);
}

InflightMapping::InflightMapping(InflightMapping&& other) noexcept
    : fd_(std::move(other.fd_)), base_(std::exchange(other.base_, nullptr)), length_(std::exchange(other.length_, 0)),
      offset_(other.offset_), queues_(other.queues_), queue_size_(other.queue_size_) {}

InflightMapping& InflightMapping::operator=(InflightMapping&& other) noexcept {
  if (this != &other) {
    if (base_ != nullptr) ::munmap(base_, length_);
    fd_ = std::move(other.fd_);
    base_ = std::exchange(other.base_, nullptr);
    length_ = std::exchange(other.length_, 0);
    offset_ = other.offset_;
    queues_ = other.queues_;
    queue_size_ = other.queue_size_;
  }
  return *this;
}

InflightMapping::~InflightMapping() {
  if (base_ != nullptr) ::munmap(base_, length_);
}

std::span<uint8_t> InflightMapping::queue_region(uint16_t index) const {
  if (index >= queues_ || base_ == nullptr) return {};
  const size_t stride = inflight::queue_region_bytes(queue_size_);
  return std::span<uint8_t>(base_ + offset_ + size_t{index} * stride, stride);
}

vhost_user::InflightDescription InflightMapping::description() const {
  return {length_, 0, queues_, queue_size_};
}

}  // namespace bulwark::backend
