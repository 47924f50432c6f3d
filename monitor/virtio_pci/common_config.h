// The virtio-pci common configuration structure (virtio spec 4.1.4.3) as a state machine:
// feature negotiation, device status rules and per-queue setup. It has no side effects of its
// own; a write returns what the owning device must do (reset the backend, activate it, or
// re-evaluate interrupt routing).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "monitor/virtio_pci/virtio_pci_regs.h"

namespace bulwark::virtio_pci {

struct QueueConfig {
  uint16_t size = 0;
  uint16_t msix_vector = kNoVector;
  bool enabled = false;
  uint64_t desc = 0;
  uint64_t driver = 0;  // the available ring
  uint64_t device = 0;  // the used ring
};

class CommonConfig {
 public:
  // kFeaturesOkRefused: the driver asked for FEATURES_OK on a device that failed for good.
  enum class Effect { kNone, kReset, kDriverOk, kVectorChanged, kFeaturesOkRefused };

  // `device_features` is what the guest is offered; `msix_vectors` bounds the vector fields.
  CommonConfig(uint64_t device_features, uint16_t num_queues, uint16_t max_queue_size, uint16_t msix_vectors);

  // Any offset and width; bytes past the structure read as zero.
  void read(uint64_t offset, std::span<uint8_t> data) const;
  // Only natural-width writes to a field are honoured (64-bit addresses also as two dwords);
  // anything else, and writes the status rules forbid, are ignored and counted.
  Effect write(uint64_t offset, std::span<const uint8_t> data);

  // The device reset: everything the driver set goes back to its initial value.
  void reset();
  // Sets DEVICE_NEEDS_RESET (the device failed); cleared only by a reset.
  void set_needs_reset() { status_ |= kStatusNeedsReset; }
  // The device failed for good: a reset still completes (status reads 0), but FEATURES_OK is
  // never accepted again, so a driver's probe fails cleanly (Linux: "device refuses
  // features") and the guest goes on without the device. Not undone by a reset.
  void refuse_features_ok() { features_ok_refused_ = true; }
  bool features_ok_refused() const { return features_ok_refused_; }
  // The device changed its configuration: drivers re-read until the generation is stable.
  void bump_config_generation() { ++config_generation_; }

  uint8_t status() const { return status_; }
  uint64_t device_features() const { return device_features_; }
  uint64_t driver_features() const { return driver_features_; }
  uint16_t msix_config() const { return msix_config_; }
  uint16_t num_queues() const { return static_cast<uint16_t>(queues_.size()); }
  const std::vector<QueueConfig>& queues() const { return queues_; }
  uint64_t ignored_writes() const { return ignored_writes_; }

 private:
  Effect write_status(uint8_t value);
  Effect write_queue_field(uint16_t offset, size_t size, uint64_t value);
  uint16_t checked_vector(uint16_t vector) const;
  QueueConfig* selected_queue();
  void write_address_part(uint64_t& field, unsigned dword, uint64_t value, size_t size);

  uint64_t device_features_;
  uint16_t max_queue_size_;
  uint16_t msix_vectors_;
  uint32_t device_feature_select_ = 0;
  uint32_t driver_feature_select_ = 0;
  uint64_t driver_features_ = 0;
  uint16_t msix_config_ = kNoVector;
  uint8_t status_ = 0;
  uint8_t config_generation_ = 0;
  uint16_t queue_select_ = 0;
  std::vector<QueueConfig> queues_;
  uint64_t ignored_writes_ = 0;
  bool features_ok_refused_ = false;
};

}  // namespace bulwark::virtio_pci
