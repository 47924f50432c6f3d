// See split_inflight.h. The stores a predecessor's death may cut between are ordered with
// signal fences: a process killed at any instruction leaves what it stored, in program order,
// in the shared mapping (the record needs no ordering against other CPUs, only against the
// process's own death).
#include "devices/inflight/split_inflight.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>

namespace bulwark::inflight {

namespace {
constexpr size_t kFeaturesAt = 0;
constexpr size_t kVersionAt = 8;
constexpr size_t kDescNumAt = 10;
constexpr size_t kLastBatchHeadAt = 12;
constexpr size_t kUsedIdxAt = 14;
constexpr size_t kInflightAt = 0;  // within an entry
constexpr size_t kCounterAt = 8;

template <typename T>
T load(std::span<const uint8_t> bytes, size_t at) {
  T value;
  std::memcpy(&value, bytes.data() + at, sizeof value);
  return value;
}

template <typename T>
void store(std::span<uint8_t> bytes, size_t at, T value) {
  std::memcpy(bytes.data() + at, &value, sizeof value);
}

void fence() { std::atomic_signal_fence(std::memory_order_seq_cst); }
}  // namespace

size_t queue_region_bytes(uint16_t queue_size) {
  const size_t bytes = kHeaderBytes + size_t{queue_size} * kEntryBytes;
  return (bytes + kRegionAlignment - 1) / kRegionAlignment * kRegionAlignment;
}

size_t record_bytes(uint16_t queues, uint16_t queue_size) { return size_t{queues} * queue_region_bytes(queue_size); }

SplitQueueRecord::SplitQueueRecord(std::span<uint8_t> region, uint16_t queue_size)
    : region_(region), queue_size_(queue_size) {}

bool SplitQueueRecord::usable() const {
  return queue_size_ != 0 && region_.size() >= queue_region_bytes(queue_size_);
}

bool SplitQueueRecord::fresh() const {
  return usable() && load<uint16_t>(std::span<const uint8_t>(region_), kVersionAt) == 0;
}

void SplitQueueRecord::initialise(uint64_t features, uint16_t used_idx) {
  if (!usable()) return;
  std::fill(region_.begin(), region_.begin() + static_cast<std::ptrdiff_t>(queue_region_bytes(queue_size_)), 0);
  store<uint64_t>(region_, kFeaturesAt, features);
  store<uint16_t>(region_, kVersionAt, kVersion);
  store<uint16_t>(region_, kDescNumAt, queue_size_);
  store<uint16_t>(region_, kUsedIdxAt, used_idx);
  next_counter_ = 1;
}

void SplitQueueRecord::taken(uint16_t head) {
  if (!usable() || head >= queue_size_) return;
  // The counter first: an entry flagged in flight always has the counter of this request.
  store<uint64_t>(region_, entry(head) + kCounterAt, next_counter_++);
  fence();
  store<uint8_t>(region_, entry(head) + kInflightAt, 1);
  fence();
}

void SplitQueueRecord::given_back(uint16_t head) {
  if (!usable() || head >= queue_size_) return;
  store<uint8_t>(region_, entry(head) + kInflightAt, 0);
  fence();
}

void SplitQueueRecord::completing(uint16_t head) {
  if (!usable() || head >= queue_size_) return;
  store<uint16_t>(region_, kLastBatchHeadAt, head);
  fence();
}

void SplitQueueRecord::completed(uint16_t head, uint16_t used_idx) {
  if (!usable() || head >= queue_size_) return;
  store<uint8_t>(region_, entry(head) + kInflightAt, 0);
  fence();
  store<uint16_t>(region_, kUsedIdxAt, used_idx);
  fence();
}

Result<Recovery> SplitQueueRecord::recover(uint64_t features, uint16_t ring_used_idx) {
  if (!usable()) {
    return Error("in-flight record: region of " + std::to_string(region_.size()) + " bytes for a queue of " +
                 std::to_string(queue_size_) + " needs " + std::to_string(queue_region_bytes(queue_size_)));
  }
  const std::span<const uint8_t> bytes = region_;
  if (const auto version = load<uint16_t>(bytes, kVersionAt); version != kVersion) {
    return Error("in-flight record: version " + std::to_string(version) + ", expected 1");
  }
  if (const auto desc_num = load<uint16_t>(bytes, kDescNumAt); desc_num != queue_size_) {
    return Error("in-flight record: made for a queue of " + std::to_string(desc_num) + " entries, this one has " +
                 std::to_string(queue_size_));
  }
  if (load<uint64_t>(bytes, kFeaturesAt) != features) {
    return Error("in-flight record: made for other negotiated features");
  }
  struct Taken {
    uint64_t counter;
    uint16_t head;
  };
  std::vector<Taken> in_flight;
  for (uint16_t head = 0; head < queue_size_; ++head) {
    const auto flag = load<uint8_t>(bytes, entry(head) + kInflightAt);
    if (flag > 1) {
      return Error("in-flight record: entry " + std::to_string(head) + " has flag " + std::to_string(flag) +
                   ", expected 0 or 1");
    }
    if (flag == 1) in_flight.push_back({load<uint64_t>(bytes, entry(head) + kCounterAt), head});
  }
  Recovery recovery;
  // Died after publishing a completion but before noting it: that request is done.
  if (load<uint16_t>(bytes, kUsedIdxAt) != ring_used_idx) {
    const auto last = load<uint16_t>(bytes, kLastBatchHeadAt);
    if (last >= queue_size_) {
      return Error("in-flight record: last completed head " + std::to_string(last) + " is beyond the queue of " +
                   std::to_string(queue_size_));
    }
    // Only one completion can be cut off this way (each is noted before the next is written).
    if (static_cast<uint16_t>(ring_used_idx - load<uint16_t>(bytes, kUsedIdxAt)) != 1) {
      return Error("in-flight record: used index " + std::to_string(load<uint16_t>(bytes, kUsedIdxAt)) +
                   " is not one behind the ring's " + std::to_string(ring_used_idx));
    }
    std::erase_if(in_flight, [last](const Taken& taken) { return taken.head == last; });
    store<uint8_t>(region_, entry(last) + kInflightAt, 0);
    store<uint16_t>(region_, kUsedIdxAt, ring_used_idx);
    recovery.completed_batch_fixed = true;
  }
  std::sort(in_flight.begin(), in_flight.end(), [](const Taken& a, const Taken& b) {
    return a.counter != b.counter ? a.counter < b.counter : a.head < b.head;
  });
  uint64_t highest = 0;
  for (const Taken& taken : in_flight) {
    recovery.heads.push_back(taken.head);
    highest = std::max(highest, taken.counter);
  }
  if (highest == UINT64_MAX) return Error("in-flight record: request counter at its maximum");
  recovery.next_counter = highest + 1;
  recovery.last_avail_idx = static_cast<uint16_t>(ring_used_idx + recovery.heads.size());
  next_counter_ = recovery.next_counter;
  return recovery;
}

}  // namespace bulwark::inflight
