// A guest controls every byte of its rings and buffers, and the driver chooses the queue layout.
// Input: 4 bytes of set-up, then the guest memory image (up to 16 KiB at guest address 0x1000).
//   byte 0: queue size exponent (size 1 << (b % 16): 1 .. 32768; large ones must be refused)
//   byte 1: bit 0 event index, bit 1 indirect descriptors; bits 2-3, 4-5, 6-7 nudge the
//           descriptor table, available ring and used ring from their defaults (some misaligned)
//   bytes 2-3: the device's starting available index (as SET_VRING_BASE gives it)
// The queue must return chains whose buffers lie inside guest memory, or refuse; never touch
// memory outside it, hang or crash.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "devices/virtio/split_queue.h"

using bulwark::virtio::GuestMemoryMap;
using bulwark::virtio::QueueLayout;
using bulwark::virtio::SplitQueue;

namespace {

constexpr uint64_t kBase = 0x1000, kBytes = 0x4000;

bool inside(std::span<const uint8_t> bytes, const std::vector<uint8_t>& memory) {
  return bytes.empty() ||
         (bytes.data() >= memory.data() && bytes.data() + bytes.size() <= memory.data() + memory.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  std::vector<uint8_t> memory(kBytes);
  std::memcpy(memory.data(), data + 4, std::min<size_t>(size - 4, kBytes));
  GuestMemoryMap map;
  if (!map.add_region({kBase, kBytes, 0x7000000000, memory.data()}).ok()) std::abort();
  QueueLayout layout;
  layout.size = static_cast<uint16_t>(1u << (data[0] % 16));
  layout.desc_gpa = kBase + ((data[1] >> 2) & 3) * 8ull;
  layout.avail_gpa = kBase + 0x1000 + ((data[1] >> 4) & 3);
  layout.used_gpa = kBase + 0x2000 + ((data[1] >> 6) & 3) * 2ull;
  const bool event_idx = (data[1] & 1) != 0, indirect = (data[1] & 2) != 0;
  auto queue = SplitQueue::create(map, layout, event_idx, indirect);
  if (!queue.ok()) return 0;
  queue->set_next_avail(static_cast<uint16_t>(data[2] | (data[3] << 8)));
  for (int i = 0; i < 64; ++i) {
    auto chain = queue->pop();
    if (!chain.ok() || !chain->has_value()) break;
    uint64_t readable = 0, writable = 0;
    for (auto bytes : (*chain)->readable) {
      if (!inside(bytes, memory)) std::abort();
      readable += bytes.size();
    }
    for (auto bytes : (*chain)->writable) {
      if (!inside(bytes, memory)) std::abort();
      if (!bytes.empty()) bytes[0] = 0xab;
      writable += bytes.size();
    }
    if (readable != (*chain)->readable_bytes || writable != (*chain)->writable_bytes) std::abort();
    if ((*chain)->head >= layout.size) std::abort();
    if (!queue->push_used((*chain)->head, static_cast<uint32_t>(writable)).ok()) std::abort();
    (void)queue->should_notify();
  }
  return 0;
}
