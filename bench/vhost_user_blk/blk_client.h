// virtio-blk requests (virtio 1.x section 5.2.6) driven through a DriverQueue: each in-flight
// request owns a fixed slot with its own header, data buffer, status byte and three descriptors
// (header, data, status), so resubmitting a slot never allocates.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>

#include "bench/vhost_user_blk/driver_queue.h"
#include "bench/vhost_user_blk/shared_memory.h"
#include "bulwark/common/result.h"

namespace bulwark::bench {

struct BlkRequest {
  bool write = false;
  uint64_t sector = 0;   // 512-byte units
  uint32_t length = 0;   // bytes, a multiple of 512, at most BlkClient::kMaxRequestBytes
};

class BlkClient {
 public:
  static constexpr uint16_t kQueueSize = 256;
  static constexpr uint16_t kMaxSlots = 64;
  static constexpr uint32_t kMaxRequestBytes = 128 * 1024;
  // Guest memory the layout needs: rings, headers, status bytes and kMaxSlots data buffers.
  static constexpr uint64_t kMemoryNeeded = 0x100000 + uint64_t{kMaxSlots} * kMaxRequestBytes;

  BlkClient(const SharedMemory& memory, int kick_fd, int call_fd);

  const DriverQueue& queue() const { return queue_; }
  // The data buffer of `slot` (kMaxRequestBytes long).
  std::span<uint8_t> buffer(uint16_t slot) const;

  // Queues the request in `slot`; the device sees it after kick().
  void submit(uint16_t slot, const BlkRequest& request);
  // Publishes everything submitted and notifies the device (kick eventfd).
  Status kick();
  // The slot of the next completed request, waiting on the call eventfd for at most `patience`.
  // Error: the device reported a non-OK status, broke the used ring, or went quiet.
  Result<uint16_t> wait_completion(std::chrono::milliseconds patience = std::chrono::milliseconds(5000));

 private:
  const SharedMemory& memory_;
  DriverQueue queue_;
  int kick_fd_;
  int call_fd_;
};

}  // namespace bulwark::bench
