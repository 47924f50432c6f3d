// The driver's half of one split virtqueue (virtio 1.x section 2.7), as a guest's virtio driver
// keeps it: descriptor table, available ring and used ring in shared memory. The benchmark is the
// only driver, so it trusts its own bookkeeping but still checks what the device writes back.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "bench/vhost_user_blk/shared_memory.h"
#include "bulwark/common/result.h"

namespace bulwark::bench {

// One buffer of a descriptor chain.
struct Segment {
  uint64_t gpa = 0;
  uint32_t length = 0;
  bool device_writes = false;
};

struct UsedBuffer {
  uint16_t head = 0;
  uint32_t bytes_written = 0;
};

class DriverQueue {
 public:
  // Lays the three rings out from `ring_gpa` (4 KiB aligned) for `size` entries (a power of two).
  DriverQueue(const SharedMemory& memory, uint64_t ring_gpa, uint16_t size);
  // Bytes the rings take from `ring_gpa`.
  static constexpr uint64_t footprint(uint16_t size) {
    const uint64_t used = align_up(16ull * size + 6 + 2ull * size, 4096);
    return align_up(used + 6 + 8ull * size, 4096);
  }

  uint16_t size() const { return size_; }
  uint64_t desc_gpa() const { return desc_gpa_; }
  uint64_t avail_gpa() const { return avail_gpa_; }
  uint64_t used_gpa() const { return used_gpa_; }

  // Writes `segments` into descriptors first_desc.. and queues the chain (head first_desc) in the
  // available ring; the device sees it after publish().
  void add_chain(uint16_t first_desc, std::span<const Segment> segments);
  // Makes every chain added so far visible to the device (release store of avail->idx).
  void publish();
  // The next chain the device returned, or nullopt. Error: the device wrote a used index or
  // head that no driver could have caused.
  Result<std::optional<UsedBuffer>> next_used();

 private:
  static constexpr uint64_t align_up(uint64_t value, uint64_t alignment) {
    return (value + alignment - 1) / alignment * alignment;
  }
  const SharedMemory& memory_;
  uint16_t size_;
  uint64_t desc_gpa_;
  uint64_t avail_gpa_;
  uint64_t used_gpa_;
  uint16_t next_avail_ = 0;  // the driver's copy of avail->idx
  uint16_t next_used_ = 0;   // used entries consumed so far
  uint16_t in_flight_ = 0;
};

}  // namespace bulwark::bench
