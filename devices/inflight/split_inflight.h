// The in-flight record of one split virtqueue (vhost-user VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD,
// QEMU's vhost-user.rst "Inflight I/O tracking"): a device process notes in shared memory every
// request it took from the avail ring and has not completed, so that a fresh process started
// after it dies can resubmit exactly those, in the order they were taken.
//
// Whose input: the record is written by the device process and kept by the monitor, which
// hands it to the next process of that device. The process that wrote it may have been
// compromised before it died, so recover() trusts nothing in it: the header must match the
// queue it is used for, every flag must be 0 or 1, and what it yields is only a list of heads
// below the queue size, each of which still goes through the normal descriptor-chain checks.
// Pure: no syscalls; the mapping is the caller's.
//
// Layout of one queue's region (little endian, the layout libvhost-user uses):
//   u64 features, u16 version (1), u16 desc_num (= queue size), u16 last_batch_head,
//   u16 used_idx, then desc_num entries of { u8 inflight, u8 pad[5], u16 next, u64 counter };
//   regions are 64-byte aligned, queue after queue.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "bulwark/common/result.h"

namespace bulwark::inflight {

inline constexpr uint16_t kVersion = 1;
inline constexpr size_t kHeaderBytes = 16;
inline constexpr size_t kEntryBytes = 16;
inline constexpr size_t kRegionAlignment = 64;

// Bytes of one queue's region, and of a record for `queues` queues of `queue_size` entries.
size_t queue_region_bytes(uint16_t queue_size);
size_t record_bytes(uint16_t queues, uint16_t queue_size);

// What a fresh process does with a record its predecessor left.
struct Recovery {
  std::vector<uint16_t> heads;     // in flight, in the order they were taken
  uint16_t last_avail_idx = 0;     // used_idx + heads.size(): where the avail ring resumes
  uint64_t next_counter = 1;       // the next request's counter
  bool completed_batch_fixed = false;  // the process died between the used ring and the record
};

class SplitQueueRecord {
 public:
  // `region` is queue_region_bytes(queue_size) bytes of the shared mapping (checked: a shorter
  // one makes every call a no-op and recover() an error).
  SplitQueueRecord(std::span<uint8_t> region, uint16_t queue_size);

  // Whether the record was never written (version 0, as GET_INFLIGHT_FD's zeroed memory is):
  // the queue starts from scratch and initialise() sets it up.
  bool fresh() const;
  // A record for a queue that starts from scratch: nothing in flight.
  void initialise(uint64_t features, uint16_t used_idx);
  // The request whose chain starts at `head` was taken from the avail ring.
  void taken(uint16_t head);
  // The request `head` was given back to the avail ring unused (SplitQueue::give_back): it is
  // no longer in flight, and a replacement must not resubmit it (the ring offers it again).
  void given_back(uint16_t head);
  // Before the used ring entry for `head` is written.
  void completing(uint16_t head);
  // After the used ring's idx was published as `used_idx`.
  void completed(uint16_t head, uint16_t used_idx);

  // The record a predecessor left, checked against the queue it now serves: same features,
  // version 1, desc_num equal to the queue size, flags 0 or 1. `ring_used_idx` is the used
  // ring's idx as the guest sees it: when it is ahead of the record's, the predecessor died
  // after publishing its last completion, which is then not resubmitted. The record is updated
  // as the spec says (that completion cleared), so the caller can carry on with it.
  Result<Recovery> recover(uint64_t features, uint16_t ring_used_idx);

  uint64_t next_counter() const { return next_counter_; }
  void set_next_counter(uint64_t counter) { next_counter_ = counter; }

 private:
  bool usable() const;
  size_t entry(uint16_t head) const { return kHeaderBytes + size_t{head} * kEntryBytes; }

  std::span<uint8_t> region_;
  uint16_t queue_size_;
  uint64_t next_counter_ = 1;
};

}  // namespace bulwark::inflight
