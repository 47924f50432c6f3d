// A guest controls every byte of its rings and buffers. Input: 4 bytes of set-up (queue size
// exponent, ring features, the device's starting index), then the guest memory image. The queue
// must return chains whose buffers lie inside guest memory, or refuse; never read outside it.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "devices/virtio/split_queue.h"

using bulwark::virtio::GuestMemoryMap;
using bulwark::virtio::SplitQueue;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  constexpr uint64_t kBase = 0x1000, kBytes = 0x4000;
  std::vector<uint8_t> memory(kBytes);
  std::memcpy(memory.data(), data + 4, std::min<size_t>(size - 4, kBytes));
  GuestMemoryMap map;
  if (!map.add_region({kBase, kBytes, 0x7000000000, memory.data()}).ok()) std::abort();
  const uint16_t queue_size = static_cast<uint16_t>(1u << (data[0] % 9));  // 1 .. 256
  const bool event_idx = (data[1] & 1) != 0, indirect = (data[1] & 2) != 0;
  auto queue = SplitQueue::create(map, {queue_size, kBase, kBase + 0x1000, kBase + 0x2000}, event_idx, indirect);
  if (!queue.ok()) return 0;
  queue->set_next_avail(static_cast<uint16_t>(data[2] | (data[3] << 8)));
  for (int i = 0; i < 64; ++i) {
    auto chain = queue->pop();
    if (!chain.ok() || !chain->has_value()) break;
    for (auto& bytes : (*chain)->readable) {
      if (bytes.size() && (bytes.data() < memory.data() || bytes.data() + bytes.size() > memory.data() + kBytes)) std::abort();
    }
    for (auto& bytes : (*chain)->writable) {
      if (bytes.size() && (bytes.data() < memory.data() || bytes.data() + bytes.size() > memory.data() + kBytes)) std::abort();
      if (!bytes.empty()) bytes[0] = 0xab;
    }
    if (!queue->push_used((*chain)->head, static_cast<uint32_t>((*chain)->writable_bytes)).ok()) std::abort();
    (void)queue->should_notify();
  }
  return 0;
}
