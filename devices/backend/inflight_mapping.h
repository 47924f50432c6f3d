// The shared memory holding a device's in-flight records (devices/inflight), one region per
// queue: made here for GET_INFLIGHT_FD (a memfd the frontend keeps) or mapped from the fd a
// frontend hands back with SET_INFLIGHT_FD, which may hold what a predecessor process wrote.
// Whose input: the frontend's description and fd (the monitor, or QEMU); the record's bytes
// are checked where a queue starts (SplitQueueRecord::recover).
// Syscalls: memfd_create, ftruncate, fstat, mmap, munmap (device-common.policy).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"
#include "devices/vhost_user/protocol.h"

namespace bulwark::backend {

class InflightMapping {
 public:
  // A fresh, zeroed record for `queues` queues of up to `queue_size` entries.
  static Result<InflightMapping> create(uint16_t queues, uint16_t queue_size);
  // The record behind `fd` as `description` places it; the file must hold all of it.
  static Result<InflightMapping> adopt(int fd, const vhost_user::InflightDescription& description);

  InflightMapping(InflightMapping&& other) noexcept;
  InflightMapping& operator=(InflightMapping&& other) noexcept;
  InflightMapping(const InflightMapping&) = delete;
  InflightMapping& operator=(const InflightMapping&) = delete;
  ~InflightMapping();

  uint16_t queues() const { return queues_; }
  uint16_t queue_size() const { return queue_size_; }
  // Queue `index`'s region (empty past the last queue).
  std::span<uint8_t> queue_region(uint16_t index) const;
  // What GET_INFLIGHT_FD answers, and the fd to send (the memfd create() made; the mapping
  // stays valid without it).
  vhost_user::InflightDescription description() const;
  UniqueFd take_fd() { return std::move(fd_); }

 private:
  InflightMapping(UniqueFd fd, uint8_t* base, size_t length, size_t offset, uint16_t queues, uint16_t queue_size)
      : fd_(std::move(fd)), base_(base), length_(length), offset_(offset), queues_(queues), queue_size_(queue_size) {}

  UniqueFd fd_;  // create()'s memfd; invalid for an adopted record (the frontend keeps it)
  uint8_t* base_ = nullptr;
  size_t length_ = 0;  // mapped bytes, from the file's start
  size_t offset_ = 0;  // where the record starts within them
  uint16_t queues_ = 0;
  uint16_t queue_size_ = 0;
};

}  // namespace bulwark::backend
