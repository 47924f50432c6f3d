// What the virtio-pci transport needs from the device behind it (the vhost-user frontend
// implements it). The transport owns the guest-facing registers; the backend owns the device.
#pragma once

#include <cstdint>
#include <span>

#include "bulwark/common/result.h"

namespace bulwark::virtio_pci {

// One enabled queue at DRIVER_OK. The eventfds belong to the transport and stay valid until
// the device is reset: kick is signalled by the guest's notify write (a KVM ioeventfd), call
// injects the queue's MSI-X vector (a KVM irqfd).
struct QueueSetup {
  uint16_t index;
  uint16_t size;
  uint64_t desc_gpa, avail_gpa, used_gpa;
  int kick_eventfd;
  int call_eventfd;
};

class VirtioBackend {
 public:
  virtual ~VirtioBackend() = default;
  virtual uint32_t device_type() const = 0;
  virtual uint64_t device_features() const = 0;
  virtual uint16_t num_queues() const = 0;
  virtual uint16_t max_queue_size() const = 0;
  virtual Result<void> read_config(uint32_t offset, std::span<uint8_t>) = 0;
  virtual Result<void> write_config(uint32_t offset, std::span<const uint8_t>) = 0;
  virtual Result<void> activate(uint64_t negotiated_features, std::span<const QueueSetup>) = 0;  // DRIVER_OK
  virtual void reset() = 0;
  virtual bool failed() const = 0;
};

}  // namespace bulwark::virtio_pci
