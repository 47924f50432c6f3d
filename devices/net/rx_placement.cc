#include "devices/net/rx_placement.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#include "devices/net/vnet_header.h"

namespace bulwark::net {

namespace {

constexpr size_t kNumBuffersOffset = 10;  // le16 num_buffers in the 12-byte header

// Copies `bytes` into the chain's writable spans from the start; returns how many fit.
uint32_t fill_chain(const virtio::DescriptorChain& chain, std::span<const uint8_t> bytes) {
  size_t done = 0;
  for (std::span<uint8_t> buffer : chain.writable) {
    if (done == bytes.size()) break;
    const size_t n = std::min(buffer.size(), bytes.size() - done);
    std::memcpy(buffer.data(), bytes.data() + done, n);
    done += n;
  }
  return static_cast<uint32_t>(done);
}

Status check_rx_chain(const virtio::DescriptorChain& chain) {
  if (!chain.readable.empty()) return Error("an RX chain has device-readable buffers");
  return ok_status();
}

}  // namespace

Result<RxPlacementResult> place_rx_packet(virtio::SplitQueue& queue, std::span<uint8_t> packet, bool mergeable) {
  if (packet.size() < kVnetHeaderSize) return Error("place_rx_packet: a packet without its vnet header");
  const uint16_t start = queue.next_avail();
  if (!mergeable) {
    auto popped = queue.pop();
    if (!popped.ok()) return popped.error();
    if (!popped->has_value()) return RxPlacementResult{RxPlacement::kNoRoom, 0};
    const virtio::DescriptorChain& chain = **popped;
    BULWARK_TRY(check_rx_chain(chain));
    if (chain.writable_bytes < packet.size()) {
      // The chain stays the guest's for a later, smaller packet.
      queue.set_next_avail(start);
      return RxPlacementResult{RxPlacement::kNeverFits, 0};
    }
    packet[kNumBuffersOffset] = 1;
    packet[kNumBuffersOffset + 1] = 0;
    const uint32_t written = fill_chain(chain, packet);
    BULWARK_TRY(queue.push_used(chain.head, written));
    return RxPlacementResult{RxPlacement::kDelivered, 1};
  }

  // Mergeable: gather chains until they hold the packet. The first chain must hold the whole
  // header (the spec requires it of the driver: a buffer of at least the header's size).
  std::vector<virtio::DescriptorChain> chains;
  uint64_t capacity = 0;
  while (capacity < packet.size()) {
    if (chains.size() >= queue.size()) {
      queue.set_next_avail(start);
      return RxPlacementResult{RxPlacement::kNeverFits, 0};
    }
    auto popped = queue.pop();
    if (!popped.ok()) return popped.error();
    if (!popped->has_value()) {
      queue.set_next_avail(start);
      return RxPlacementResult{RxPlacement::kNoRoom, 0};
    }
    BULWARK_TRY(check_rx_chain(**popped));
    if (chains.empty() && (*popped)->writable_bytes < kVnetHeaderSize) {
      queue.set_next_avail(start);
      return RxPlacementResult{RxPlacement::kNeverFits, 0};
    }
    capacity += (*popped)->writable_bytes;
    chains.push_back(std::move(**popped));
  }
  const auto count = static_cast<uint16_t>(chains.size());
  packet[kNumBuffersOffset] = static_cast<uint8_t>(count & 0xff);
  packet[kNumBuffersOffset + 1] = static_cast<uint8_t>(count >> 8);
  size_t offset = 0;
  for (const virtio::DescriptorChain& chain : chains) {
    const uint32_t written = fill_chain(chain, packet.subspan(offset));
    offset += written;
    BULWARK_TRY(queue.push_used(chain.head, written));
  }
  return RxPlacementResult{RxPlacement::kDelivered, count};
}

}  // namespace bulwark::net
