#include "bench/vhost_user_blk/driver_queue.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "bulwark/common/byte_reader.h"

namespace bulwark::bench {
namespace {

constexpr uint16_t kDescNext = 1;
constexpr uint16_t kDescWrite = 2;
constexpr uint64_t kDescSize = 16;

}  // namespace

DriverQueue::DriverQueue(const SharedMemory& memory, uint64_t ring_gpa, uint16_t size)
    : memory_(memory),
      size_(size),
      desc_gpa_(ring_gpa),
      avail_gpa_(ring_gpa + kDescSize * size),
      used_gpa_(ring_gpa + align_up(kDescSize * size + 6 + 2ull * size, 4096)) {
  auto rings = memory_.at(ring_gpa, footprint(size));
  std::fill(rings.begin(), rings.end(), uint8_t{0});
}

void DriverQueue::add_chain(uint16_t first_desc, std::span<const Segment> segments) {
  if (segments.empty() || first_desc + segments.size() > size_ || in_flight_ >= size_) std::abort();
  for (size_t i = 0; i < segments.size(); ++i) {
    const uint16_t index = static_cast<uint16_t>(first_desc + i);
    const bool last = i + 1 == segments.size();
    auto desc = memory_.at(desc_gpa_ + kDescSize * index, kDescSize);
    uint16_t flags = segments[i].device_writes ? kDescWrite : 0;
    if (!last) flags |= kDescNext;
    write_le<uint64_t>(desc, 0, segments[i].gpa);
    write_le<uint32_t>(desc, 8, segments[i].length);
    write_le<uint16_t>(desc, 12, flags);
    write_le<uint16_t>(desc, 14, last ? 0 : static_cast<uint16_t>(index + 1));
  }
  auto slot = memory_.at(avail_gpa_ + 4 + 2ull * (next_avail_ % size_), 2);
  write_le<uint16_t>(slot, 0, first_desc);
  ++next_avail_;
  ++in_flight_;
}

void DriverQueue::publish() {
  // The descriptors and ring entries above must be visible before the index that announces them.
  __atomic_store_n(memory_.object_at<uint16_t>(avail_gpa_ + 2), next_avail_, __ATOMIC_RELEASE);
}

Result<std::optional<UsedBuffer>> DriverQueue::next_used() {
  const uint16_t used_idx = __atomic_load_n(memory_.object_at<uint16_t>(used_gpa_ + 2), __ATOMIC_ACQUIRE);
  if (used_idx == next_used_) return std::optional<UsedBuffer>();
  if (static_cast<uint16_t>(used_idx - next_used_) > in_flight_) {
    return Error("device moved used->idx to " + std::to_string(used_idx) + " with only " +
                 std::to_string(in_flight_) + " chains in flight");
  }
  auto element = memory_.at(used_gpa_ + 4 + 8ull * (next_used_ % size_), 8);
  const uint32_t head = read_le<uint32_t>(element, 0).value_or(UINT32_MAX);
  if (head >= size_) return Error("device returned head " + std::to_string(head));
  UsedBuffer used{static_cast<uint16_t>(head), read_le<uint32_t>(element, 4).value_or(0)};
  ++next_used_;
  --in_flight_;
  return std::optional<UsedBuffer>(used);
}

}  // namespace bulwark::bench
