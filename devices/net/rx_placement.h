// Putting one received packet (a 12-byte vnet header and its frame) into the guest's RX
// buffers (virtio 1.x 5.1.6.3/4). Every byte goes through the writable spans of popped chains,
// which the split queue already bounded to guest memory: nothing is written outside a
// descriptor. Without MRG_RXBUF a packet takes exactly one chain; with it, as many chains as
// it needs and the header's num_buffers says how many.
#pragma once

#include <cstdint>
#include <span>

#include "bulwark/common/result.h"
#include "devices/virtio/split_queue.h"

namespace bulwark::net {

enum class RxPlacement : uint8_t {
  kDelivered,     // in the guest's buffers and on the used ring
  kNoRoom,        // not enough buffers offered yet: nothing taken, try again after a kick
  kNeverFits,     // the buffers could never hold it (too small, or the whole ring too small):
                  // nothing taken, drop the packet
};

struct RxPlacementResult {
  RxPlacement outcome = RxPlacement::kNoRoom;
  uint16_t chains = 0;  // chains used when delivered
};

// `packet` starts with the 12-byte vnet header; its num_buffers field is filled in here (1
// without `mergeable`). An Error is the guest breaking the queue (a bad chain, a device-readable
// buffer in an RX chain); the caller fails the queue.
Result<RxPlacementResult> place_rx_packet(virtio::SplitQueue& queue, std::span<uint8_t> packet, bool mergeable);

}  // namespace bulwark::net
