#include "bench/vhost_user_blk/blk_client.h"

#include <poll.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <string>

#include "bulwark/common/byte_reader.h"

namespace bulwark::bench {
namespace {

// Guest-physical layout: rings at 0, request headers, status bytes, then the data buffers.
constexpr uint64_t kRingGpa = 0;
constexpr uint64_t kHeaderGpa = 0x10000;
constexpr uint64_t kHeaderSize = 16;
constexpr uint64_t kStatusGpa = 0x20000;
constexpr uint64_t kDataGpa = 0x100000;
constexpr uint16_t kDescriptorsPerSlot = 3;

constexpr uint32_t kTypeIn = 0;   // VIRTIO_BLK_T_IN: read
constexpr uint32_t kTypeOut = 1;  // VIRTIO_BLK_T_OUT: write
constexpr uint8_t kStatusOk = 0;
constexpr uint8_t kStatusUnset = 0xff;  // no device status is 0xff: catches a device that never wrote it

static_assert(DriverQueue::footprint(BlkClient::kQueueSize) <= kHeaderGpa);
static_assert(uint64_t{BlkClient::kMaxSlots} * kDescriptorsPerSlot <= BlkClient::kQueueSize);

}  // namespace

BlkClient::BlkClient(const SharedMemory& memory, int kick_fd, int call_fd)
    : memory_(memory), queue_(memory, kRingGpa, kQueueSize), kick_fd_(kick_fd), call_fd_(call_fd) {
  if (memory.size() < kMemoryNeeded) std::abort();
}

std::span<uint8_t> BlkClient::buffer(uint16_t slot) const {
  return memory_.at(kDataGpa + uint64_t{slot} * kMaxRequestBytes, kMaxRequestBytes);
}

void BlkClient::submit(uint16_t slot, const BlkRequest& request) {
  if (slot >= kMaxSlots || request.length == 0 || request.length > kMaxRequestBytes) std::abort();
  const uint64_t header_gpa = kHeaderGpa + kHeaderSize * slot;
  auto header = memory_.at(header_gpa, kHeaderSize);
  write_le<uint32_t>(header, 0, request.write ? kTypeOut : kTypeIn);
  write_le<uint32_t>(header, 4, 0);
  write_le<uint64_t>(header, 8, request.sector);
  memory_.at(kStatusGpa + slot, 1)[0] = kStatusUnset;
  const std::array<Segment, 3> chain{{
      {header_gpa, static_cast<uint32_t>(kHeaderSize), false},
      {kDataGpa + uint64_t{slot} * kMaxRequestBytes, request.length, !request.write},
      {kStatusGpa + slot, 1, true},
  }};
  queue_.add_chain(static_cast<uint16_t>(slot * kDescriptorsPerSlot), chain);
}

Status BlkClient::kick() {
  queue_.publish();
  const uint64_t one = 1;
  if (::write(kick_fd_, &one, sizeof(one)) != static_cast<ssize_t>(sizeof(one))) {
    return Error::from_errno("kick eventfd write", errno);
  }
  return ok_status();
}

Result<uint16_t> BlkClient::wait_completion(std::chrono::milliseconds patience) {
  for (;;) {
    auto used = queue_.next_used();
    if (!used.ok()) return used.error();
    if (used->has_value()) {
      const uint16_t head = (*used)->head;
      if (head % kDescriptorsPerSlot != 0 || head / kDescriptorsPerSlot >= kMaxSlots) {
        return Error("device completed descriptor " + std::to_string(head) + ", not the head of a request");
      }
      const auto slot = static_cast<uint16_t>(head / kDescriptorsPerSlot);
      const uint8_t status = memory_.at(kStatusGpa + slot, 1)[0];
      if (status != kStatusOk) return Error("request failed with virtio-blk status " + std::to_string(status));
      return slot;
    }
    // Nothing used yet: sleep on the call eventfd. A completion after the check above signals it.
    pollfd waiting{call_fd_, POLLIN, 0};
    const int ready = ::poll(&waiting, 1, static_cast<int>(patience.count()));
    if (ready < 0 && errno != EINTR) return Error::from_errno("poll call eventfd", errno);
    if (ready == 0) return Error("no completion within " + std::to_string(patience.count()) + " ms");
    uint64_t count = 0;
    if (ready > 0 && ::read(call_fd_, &count, sizeof(count)) < 0 && errno != EAGAIN) {
      return Error::from_errno("call eventfd read", errno);
    }
  }
}

}  // namespace bulwark::bench
