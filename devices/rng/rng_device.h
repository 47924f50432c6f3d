// virtio-rng (virtio 1.x section 5.4): one queue of device-writable buffers, filled from the
// kernel's random number generator (getrandom).
#pragma once

#include "devices/backend/virtio_device.h"

namespace bulwark::rng {

class RngDevice : public backend::VirtioDevice {
 public:
  static constexpr uint32_t kDeviceType = 4;
  // Bytes given per request at most, so one guest request cannot keep the device busy long.
  static constexpr uint64_t kMaxBytesPerRequest = 64 * 1024;

  uint32_t device_type() const override { return kDeviceType; }
  uint64_t device_features() const override { return 0; }
  uint16_t num_queues() const override { return 1; }
  uint16_t max_queue_size() const override { return 1024; }
  std::span<const uint8_t> config_space() const override { return {}; }
  Result<uint32_t> process_queue(uint16_t index, virtio::SplitQueue& queue, uint32_t budget) override;
};

}  // namespace bulwark::rng
