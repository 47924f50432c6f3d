// A guest's side of a split queue, for tests: a plain buffer as guest memory at guest address
// kBase, with the rings at fixed offsets and helpers to write descriptors and offer chains.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "devices/virtio/guest_memory_map.h"
#include "devices/virtio/split_queue.h"

namespace bulwark::virtio::test {

class TestRing {
 public:
  static constexpr uint64_t kBase = 0x10000;
  static constexpr uint64_t kBytes = 0x10000;
  static constexpr uint64_t kDesc = kBase;            // 16 * size
  static constexpr uint64_t kAvail = kBase + 0x1000;  // 6 + 2 * size
  static constexpr uint64_t kUsed = kBase + 0x2000;   // 6 + 8 * size
  static constexpr uint64_t kData = kBase + 0x4000;   // buffers from here

  explicit TestRing(uint16_t size = 8) : bytes_(kBytes), size_(size) {
    (void)map_.add_region({kBase, kBytes, 0x7f0000000000, bytes_.data()});
  }
  const GuestMemoryMap& memory() const { return map_; }
  QueueLayout layout(uint16_t size = 0) const { return {size ? size : size_, kDesc, kAvail, kUsed}; }

  void set_desc(uint16_t index, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next,
                uint64_t table = kDesc) {
    uint8_t* d = at(table + 16ull * index);
    std::memcpy(d, &addr, 8);
    std::memcpy(d + 8, &len, 4);
    std::memcpy(d + 12, &flags, 2);
    std::memcpy(d + 14, &next, 2);
  }
  // Puts `head` in the next available slot and publishes it.
  void offer(uint16_t head) {
    uint16_t idx = avail_idx();
    std::memcpy(at(kAvail + 4 + 2ull * (idx % size_)), &head, 2);
    set_avail_idx(static_cast<uint16_t>(idx + 1));
  }
  uint16_t avail_idx() { return read16(kAvail + 2); }
  void set_avail_idx(uint16_t v) { std::memcpy(at(kAvail + 2), &v, 2); }
  void set_avail_flags(uint16_t v) { std::memcpy(at(kAvail), &v, 2); }
  void set_used_event(uint16_t v) { std::memcpy(at(kAvail + 4 + 2ull * size_), &v, 2); }
  uint16_t used_idx() { return read16(kUsed + 2); }
  uint16_t avail_event() { return read16(kUsed + 4 + 8ull * size_); }
  uint32_t used_id(uint16_t slot) { return read32(kUsed + 4 + 8ull * slot); }
  uint32_t used_len(uint16_t slot) { return read32(kUsed + 8 + 8ull * slot); }
  uint8_t* at(uint64_t gpa) { return bytes_.data() + (gpa - kBase); }

 private:
  uint16_t read16(uint64_t gpa) { uint16_t v; std::memcpy(&v, at(gpa), 2); return v; }
  uint32_t read32(uint64_t gpa) { uint32_t v; std::memcpy(&v, at(gpa), 4); return v; }
  alignas(4096) std::vector<uint8_t> bytes_;
  uint16_t size_;
  GuestMemoryMap map_;
};

}  // namespace bulwark::virtio::test
