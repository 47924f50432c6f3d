#include "devices/virtio/split_queue.h"

#include <atomic>
#include <string>

#include "bulwark/common/byte_reader.h"

namespace bulwark::virtio {

namespace {

constexpr uint64_t kDescSize = 16;

// Ring fields are shared with a guest that writes them at any time: single aligned loads and
// stores (the layout checks guarantee the alignment), never torn, never cached by the compiler.
uint16_t load16(std::span<uint8_t> ring, uint64_t offset) {
  return __atomic_load_n(reinterpret_cast<uint16_t*>(ring.data() + offset), __ATOMIC_RELAXED);
}
void store16(std::span<uint8_t> ring, uint64_t offset, uint16_t value) {
  __atomic_store_n(reinterpret_cast<uint16_t*>(ring.data() + offset), value, __ATOMIC_RELAXED);
}
void store32(std::span<uint8_t> ring, uint64_t offset, uint32_t value) {
  __atomic_store_n(reinterpret_cast<uint32_t*>(ring.data() + offset), value, __ATOMIC_RELAXED);
}

struct Descriptor {
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};

// A descriptor is copied out once, so the guest cannot change it between check and use.
Descriptor read_descriptor(std::span<const uint8_t> table, uint64_t index) {
  const uint64_t at = index * kDescSize;
  return Descriptor{*read_le<uint64_t>(table, at), *read_le<uint32_t>(table, at + 8),
                    *read_le<uint16_t>(table, at + 12), *read_le<uint16_t>(table, at + 14)};
}

// virtio's vring_need_event: did new_idx pass event_idx since old_idx?
bool need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old_idx) {
  return static_cast<uint16_t>(new_idx - event_idx - 1) < static_cast<uint16_t>(new_idx - old_idx);
}

}  // namespace

Result<SplitQueue> SplitQueue::create(const GuestMemoryMap& memory, QueueLayout layout,
                                      bool event_idx, bool indirect) {
  const uint16_t size = layout.size;
  if (size == 0 || size > kMaxQueueSize || (size & (size - 1)) != 0) {
    return Error("queue size " + std::to_string(size) + " is not a power of two from 1 to 32768");
  }
  if (layout.desc_gpa % 16 != 0 || layout.avail_gpa % 2 != 0 || layout.used_gpa % 4 != 0) {
    return Error("queue rings are misaligned (descriptors 16, available 2, used 4 bytes)");
  }
  auto desc = memory.translate(layout.desc_gpa, kDescSize * size);
  auto avail = memory.translate(layout.avail_gpa, 6 + 2ull * size);
  auto used = memory.translate(layout.used_gpa, 6 + 8ull * size);
  if (!desc || !avail || !used) return Error("a queue ring lies outside guest memory");
  SplitQueue queue(memory, layout, event_idx, indirect, *desc, *avail, *used);
  queue.next_used_ = load16(*used, 2);
  queue.signalled_used_ = queue.next_used_;
  return queue;
}

uint16_t SplitQueue::avail_index() const {
  const uint16_t index = load16(avail_, 2);
  // The ring entries the index covers are read only after the index itself.
  std::atomic_thread_fence(std::memory_order_acquire);
  return index;
}

void SplitQueue::track_in_flight(inflight::SplitQueueRecord* record, std::vector<uint16_t> resubmit) {
  in_flight_ = record;
  resubmit_.assign(resubmit.begin(), resubmit.end());
}

Result<std::optional<DescriptorChain>> SplitQueue::pop() {
  // A predecessor's requests first, in the order it took them; each is walked (and checked)
  // like any chain, since a compromised predecessor may have left any head in its record.
  if (!resubmit_.empty()) {
    const uint16_t head = resubmit_.front();
    resubmit_.pop_front();
    auto chain = walk_chain(head);
    if (!chain.ok()) return chain.error().wrap("resubmitted request");
    if (in_flight_ != nullptr) in_flight_->taken(head);
    last_pop_ = LastPop{head, true};
    return std::optional<DescriptorChain>(std::move(*chain));
  }
  uint16_t available = avail_index();
  if (available == next_avail_ && event_idx_) {
    // Ask for a kick at the next buffer, then look once more: one may have come meanwhile.
    store16(used_, 4 + 8ull * layout_.size, next_avail_);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    available = avail_index();
  }
  const uint16_t pending = static_cast<uint16_t>(available - next_avail_);
  if (pending == 0) return std::optional<DescriptorChain>();
  if (pending > layout_.size) {
    return Error("available index " + std::to_string(available) + " is " + std::to_string(pending) +
                 " ahead of the device, more than the queue size " + std::to_string(layout_.size));
  }
  const uint16_t head = load16(avail_, 4 + 2ull * (next_avail_ % layout_.size));
  auto chain = walk_chain(head);
  if (!chain.ok()) return chain.error();
  if (in_flight_ != nullptr) in_flight_->taken(head);
  ++next_avail_;
  if (event_idx_) store16(used_, 4 + 8ull * layout_.size, next_avail_);
  last_pop_ = LastPop{head, false};
  return std::optional<DescriptorChain>(std::move(*chain));
}

Status SplitQueue::give_back(uint16_t head) {
  if (!last_pop_ || last_pop_->head != head) {
    return Error("give_back of chain " + std::to_string(head) + ", which is not the chain popped last");
  }
  const bool resubmitted = last_pop_->resubmitted;
  last_pop_.reset();
  if (resubmitted) {
    resubmit_.push_front(head);  // still the predecessor's, still in flight in the record
    return ok_status();
  }
  --next_avail_;
  // avail_event may ask for a kick at the slot given back; that is only a hint to the guest.
  if (in_flight_ != nullptr) in_flight_->given_back(head);
  return ok_status();
}

Result<DescriptorChain> SplitQueue::walk_chain(uint16_t head) const {
  if (head >= layout_.size) {
    return Error("chain head " + std::to_string(head) + " is outside the queue of " +
                 std::to_string(layout_.size));
  }
  DescriptorChain chain;
  chain.head = head;
  std::span<const uint8_t> table = desc_;
  uint64_t table_entries = layout_.size;
  uint64_t hop_limit = layout_.size;
  uint64_t hops = 0;
  bool in_indirect = false;
  bool seen_writable = false;
  uint64_t index = head;
  for (;;) {
    if (++hops > hop_limit) {
      return Error("descriptor chain at head " + std::to_string(head) +
                   " has more links than its table (a loop)");
    }
    const Descriptor d = read_descriptor(table, index);
    if ((d.flags & kDescFlagIndirect) != 0) {
      if (!indirect_) return Error("indirect descriptor, but the feature was not negotiated");
      if (in_indirect) return Error("indirect descriptor inside an indirect table");
      if ((d.flags & kDescFlagNext) != 0) return Error("indirect descriptor with the next flag");
      if (d.len == 0 || d.len % kDescSize != 0) {
        return Error("indirect table of " + std::to_string(d.len) + " bytes is not whole descriptors");
      }
      // Bounds the work and memory one chain can cost the device, whatever the guest's RAM.
      if (d.len / kDescSize > kMaxQueueSize) {
        return Error("indirect table of " + std::to_string(d.len / kDescSize) +
                     " descriptors is longer than the largest queue");
      }
      auto indirect_table = memory_.translate(d.addr, d.len);
      if (!indirect_table) return Error("indirect table lies outside guest memory");
      table = *indirect_table;
      table_entries = d.len / kDescSize;
      hop_limit = table_entries;
      hops = 0;
      in_indirect = true;
      index = 0;
      continue;
    }
    auto bytes = memory_.translate(d.addr, d.len);
    if (!bytes) {
      return Error("descriptor buffer at " + std::to_string(d.addr) + " of " + std::to_string(d.len) +
                   " bytes lies outside guest memory");
    }
    if ((d.flags & kDescFlagWrite) != 0) {
      chain.writable.push_back(*bytes);
      chain.writable_bytes += d.len;
      seen_writable = true;
    } else {
      if (seen_writable) return Error("a device-readable descriptor follows a writable one");
      chain.readable.push_back(*bytes);
      chain.readable_bytes += d.len;
    }
    if ((d.flags & kDescFlagNext) == 0) return chain;
    if (d.next >= table_entries) {
      return Error("descriptor link " + std::to_string(d.next) + " is outside its table of " +
                   std::to_string(table_entries));
    }
    index = d.next;
  }
}

Status SplitQueue::push_used(uint16_t head, uint32_t bytes_written) {
  if (head >= layout_.size) return Error("used element for a head outside the queue");
  if (last_pop_ && last_pop_->head == head) last_pop_.reset();
  const uint64_t slot = 4 + 8ull * (next_used_ % layout_.size);
  if (in_flight_ != nullptr) in_flight_->completing(head);
  store32(used_, slot, head);
  store32(used_, slot + 4, bytes_written);
  // The element is visible before the index that publishes it.
  std::atomic_thread_fence(std::memory_order_release);
  ++next_used_;
  store16(used_, 2, next_used_);
  if (in_flight_ != nullptr) in_flight_->completed(head, next_used_);
  return ok_status();
}

bool SplitQueue::should_notify() {
  // The published used index is ordered before reading what the guest asked for.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  const uint16_t old_used = signalled_used_;
  signalled_used_ = next_used_;
  if (old_used == next_used_) return false;  // nothing new since the last interrupt
  if (event_idx_) {
    const uint16_t used_event = load16(avail_, 4 + 2ull * layout_.size);
    return need_event(used_event, next_used_, old_used);
  }
  return (load16(avail_, 0) & kAvailFlagNoInterrupt) == 0;
}

}  // namespace bulwark::virtio
