// A test guest speaking raw virtio-vsock to bulwark-dev-vsock through the guest-less
// TestFrontend: it writes the packets a hostile or a well-behaved driver would put on the tx
// queue and reads what the device puts in its rx buffers. No kernel, no QEMU.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "bulwark/common/result.h"
#include "devices/vsock/packet.h"
#include "tests/unit/blk/test_frontend.h"

namespace bulwark::test {

struct VsockRxPacket {
  vsock::Header header;
  std::vector<uint8_t> payload;
};

class RawVsockGuest {
 public:
  static constexpr uint16_t kRx = 0, kTx = 1;
  static constexpr uint32_t kRxBufferBytes = vsock::kHeaderSize + 4096;

  // Offers the rx buffers (one per ring slot); `frontend` is started with 3 queues.
  explicit RawVsockGuest(TestFrontend& frontend);

  // A header from this guest (CID 3) to the host (CID 2), stream type.
  static vsock::Header header(vsock::Op op, uint32_t guest_port, uint32_t host_port, uint32_t buf_alloc = 65536,
                              uint32_t fwd_cnt = 0);
  // Puts one packet on the tx queue and waits for the device to take it.
  Status send(const vsock::Header& header, std::span<const uint8_t> payload = {});
  // Raw bytes as one tx chain (malformed packets).
  Status send_raw(std::span<const uint8_t> bytes);
  // The next packet the device put on the rx queue, or nullopt after `timeout`.
  std::optional<VsockRxPacket> receive(std::chrono::milliseconds timeout = std::chrono::seconds(3));

 private:
  TestFrontend& frontend_;
  uint64_t rx_gpa_ = 0;  // kQueueSize buffers of kRxBufferBytes, head i at rx_gpa_ + i * size
  uint64_t tx_gpa_ = 0;
  uint16_t seen_used_ = 0;
};

}  // namespace bulwark::test
