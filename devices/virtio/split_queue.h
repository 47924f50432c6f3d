// A virtio split virtqueue, device side (virtio 1.x section 2.7), over guest memory the guest
// writes concurrently. The guest is untrusted: every index, address and length is checked, a
// chain may not loop or run longer than the queue, and the first violation is an Error that
// stops the queue (the caller marks the device or queue failed and logs it).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <vector>

#include "bulwark/common/result.h"
#include "devices/inflight/split_inflight.h"
#include "devices/virtio/guest_memory_map.h"

namespace bulwark::virtio {

inline constexpr uint16_t kMaxQueueSize = 32768;
inline constexpr uint16_t kDescFlagNext = 1;
inline constexpr uint16_t kDescFlagWrite = 2;
inline constexpr uint16_t kDescFlagIndirect = 4;
inline constexpr uint16_t kAvailFlagNoInterrupt = 1;

struct QueueLayout {
  uint16_t size = 0;
  uint64_t desc_gpa = 0;
  uint64_t avail_gpa = 0;
  uint64_t used_gpa = 0;
};

// One request: the device reads `readable` and writes `writable`, in order.
struct DescriptorChain {
  uint16_t head = 0;
  std::vector<std::span<const uint8_t>> readable;
  std::vector<std::span<uint8_t>> writable;
  uint64_t readable_bytes = 0;
  uint64_t writable_bytes = 0;
};

class SplitQueue {
 public:
  // Keeps a copy of `memory`'s region list; the mappings themselves must outlive the queue.
  // Checks the size (a power of two, 1 .. 32768), the rings' alignment (16, 2, 4) and that each
  // ring lies inside guest memory. `event_idx` / `indirect`: the negotiated ring features.
  static Result<SplitQueue> create(const GuestMemoryMap& memory, QueueLayout layout, bool event_idx,
                                   bool indirect);

  void set_next_avail(uint16_t index) { next_avail_ = index; }
  uint16_t next_avail() const { return next_avail_; }
  uint16_t next_used() const { return next_used_; }
  uint16_t size() const { return layout_.size; }

  // The next available chain; nullopt when the guest has offered nothing new.
  Result<std::optional<DescriptorChain>> pop();
  // Notes every chain taken and returned in `record` (the vhost-user in-flight record, which
  // outlives the queue), and hands out the heads in `resubmit` (a predecessor's requests,
  // from record->recover()) before anything from the available ring. nullptr: no record.
  void track_in_flight(inflight::SplitQueueRecord* record, std::vector<uint16_t> resubmit = {});
  // Gives the chain popped last back, unused, so that the ring's position (GET_VRING_BASE's
  // answer, the next pop) is before it again: a device that took a buffer it could not fill
  // (vsock's rx) must not lose it when the frontend stops the ring, or the guest's driver is
  // one buffer short for good. A resubmitted request goes back to the front of the resubmit
  // list (still in flight in the record). Only the chain popped last, and only once; an error
  // otherwise (the device's bug, not the guest's).
  Status give_back(uint16_t head);
  // Returns chain `head` to the guest with `bytes_written` bytes written into it.
  Status push_used(uint16_t head, uint32_t bytes_written);
  // Whether the guest wants an interrupt for what was pushed since the last call.
  bool should_notify();

 private:
  SplitQueue(const GuestMemoryMap& memory, QueueLayout layout, bool event_idx, bool indirect,
             std::span<uint8_t> desc, std::span<uint8_t> avail, std::span<uint8_t> used)
      : memory_(memory), layout_(layout), event_idx_(event_idx), indirect_(indirect),
        desc_(desc), avail_(avail), used_(used) {}
  Result<DescriptorChain> walk_chain(uint16_t head) const;
  uint16_t avail_index() const;

  GuestMemoryMap memory_;  // a copy: the regions' mappings must outlive the queue
  QueueLayout layout_;
  bool event_idx_;
  bool indirect_;
  std::span<uint8_t> desc_;
  std::span<uint8_t> avail_;
  std::span<uint8_t> used_;
  uint16_t next_avail_ = 0;
  uint16_t next_used_ = 0;
  uint16_t signalled_used_ = 0;
  inflight::SplitQueueRecord* in_flight_ = nullptr;
  std::deque<uint16_t> resubmit_;
  // The chain popped last, while give_back may still return it: whence it came.
  struct LastPop {
    uint16_t head;
    bool resubmitted;
  };
  std::optional<LastPop> last_pop_;
};

}  // namespace bulwark::virtio
