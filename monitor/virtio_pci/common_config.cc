#include "monitor/virtio_pci/common_config.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "bulwark/common/byte_reader.h"

namespace bulwark::virtio_pci {
namespace {

constexpr uint8_t kDriverStatusBits =
    kStatusAcknowledge | kStatusDriver | kStatusDriverOk | kStatusFeaturesOk | kStatusFailed;

bool is_power_of_two(uint16_t v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace

CommonConfig::CommonConfig(uint64_t device_features, uint16_t num_queues, uint16_t max_queue_size,
                           uint16_t msix_vectors)
    : device_features_(device_features),
      max_queue_size_(max_queue_size),
      msix_vectors_(msix_vectors),
      queues_(num_queues) {
  reset();
}

void CommonConfig::reset() {
  device_feature_select_ = 0;
  driver_feature_select_ = 0;
  driver_features_ = 0;
  msix_config_ = kNoVector;
  status_ = 0;
  queue_select_ = 0;
  for (QueueConfig& q : queues_) q = QueueConfig{.size = max_queue_size_};
}

void CommonConfig::read(uint64_t offset, std::span<uint8_t> data) const {
  std::array<uint8_t, kCommonCfgSize> image{};
  const uint64_t offered = device_feature_select_ < 2 ? device_features_ >> (32 * device_feature_select_) : 0;
  const uint64_t accepted = driver_feature_select_ < 2 ? driver_features_ >> (32 * driver_feature_select_) : 0;
  write_le<uint32_t>(image, kDeviceFeatureSelect, device_feature_select_);
  write_le<uint32_t>(image, kDeviceFeature, static_cast<uint32_t>(offered));
  write_le<uint32_t>(image, kDriverFeatureSelect, driver_feature_select_);
  write_le<uint32_t>(image, kDriverFeature, static_cast<uint32_t>(accepted));
  write_le<uint16_t>(image, kMsixConfig, msix_config_);
  write_le<uint16_t>(image, kNumQueues, num_queues());
  image[kDeviceStatus] = status_;
  image[kConfigGeneration] = config_generation_;
  write_le<uint16_t>(image, kQueueSelect, queue_select_);
  if (queue_select_ < queues_.size()) {
    const QueueConfig& q = queues_[queue_select_];
    write_le<uint16_t>(image, kQueueSize, q.size);
    write_le<uint16_t>(image, kQueueMsixVector, q.msix_vector);
    write_le<uint16_t>(image, kQueueEnable, q.enabled ? 1 : 0);
    write_le<uint16_t>(image, kQueueNotifyOff, queue_select_);  // one notify address per queue
    write_le<uint64_t>(image, kQueueDesc, q.desc);
    write_le<uint64_t>(image, kQueueDriver, q.driver);
    write_le<uint64_t>(image, kQueueDevice, q.device);
    write_le<uint16_t>(image, kQueueNotifyData, queue_select_);
  } else {
    write_le<uint16_t>(image, kQueueMsixVector, kNoVector);
  }
  std::fill(data.begin(), data.end(), uint8_t{0});
  if (offset >= image.size()) return;
  std::memcpy(data.data(), image.data() + offset, std::min<uint64_t>(data.size(), image.size() - offset));
}

CommonConfig::Effect CommonConfig::write(uint64_t offset, std::span<const uint8_t> data) {
  const size_t size = data.size();
  if (size != 1 && size != 2 && size != 4 && size != 8) {
    ++ignored_writes_;
    return Effect::kNone;
  }
  uint64_t value = 0;
  std::memcpy(&value, data.data(), size);
  const auto at = [&](uint16_t field, size_t width) { return offset == field && size == width; };

  if (at(kDeviceFeatureSelect, 4)) {
    device_feature_select_ = static_cast<uint32_t>(value);
  } else if (at(kDriverFeatureSelect, 4)) {
    driver_feature_select_ = static_cast<uint32_t>(value);
  } else if (at(kDriverFeature, 4)) {
    // Features are fixed once the driver has asked for FEATURES_OK.
    if (driver_feature_select_ >= 2 || (status_ & (kStatusFeaturesOk | kStatusDriverOk))) {
      ++ignored_writes_;
      return Effect::kNone;
    }
    const unsigned shift = 32 * driver_feature_select_;
    driver_features_ = (driver_features_ & ~(uint64_t{0xffffffff} << shift)) | (value << shift);
  } else if (at(kMsixConfig, 2)) {
    msix_config_ = checked_vector(static_cast<uint16_t>(value));
    return Effect::kVectorChanged;
  } else if (at(kDeviceStatus, 1)) {
    return write_status(static_cast<uint8_t>(value));
  } else if (at(kQueueSelect, 2)) {
    queue_select_ = static_cast<uint16_t>(value);
  } else if (offset >= kQueueSize && offset < kQueueNotifyData) {
    return write_queue_field(static_cast<uint16_t>(offset), size, value);
  } else {
    ++ignored_writes_;  // read-only fields, odd widths, queue_reset (not offered)
  }
  return Effect::kNone;
}

CommonConfig::Effect CommonConfig::write_status(uint8_t value) {
  if (value == 0) {
    reset();
    return Effect::kReset;
  }
  const uint8_t old = status_ & kDriverStatusBits;
  uint8_t next = value & kDriverStatusBits;
  // The driver only ever adds bits; clearing one takes a reset.
  if ((old & ~next) != 0) {
    ++ignored_writes_;
    return Effect::kNone;
  }
  const uint8_t added = next & ~old;
  bool refused_for_good = false;
  if (added & kStatusFeaturesOk) {
    const bool subset = (driver_features_ & ~device_features_) == 0;
    const bool modern = (driver_features_ >> kFeatureVersion1) & 1;
    refused_for_good = features_ok_refused_;
    if (!subset || !modern || refused_for_good)
      next &= static_cast<uint8_t>(~kStatusFeaturesOk);  // the driver re-reads and sees it refused
  }
  // DRIVER_OK needs accepted features, and a device needing reset is not started again.
  if ((added & kStatusDriverOk) && (!(next & kStatusFeaturesOk) || (status_ & kStatusNeedsReset)))
    next &= static_cast<uint8_t>(~kStatusDriverOk);
  status_ = static_cast<uint8_t>(next | (status_ & kStatusNeedsReset));
  if (refused_for_good) return Effect::kFeaturesOkRefused;
  return (next & ~old & kStatusDriverOk) ? Effect::kDriverOk : Effect::kNone;
}

CommonConfig::Effect CommonConfig::write_queue_field(uint16_t offset, size_t size, uint64_t value) {
  QueueConfig* q = selected_queue();
  if (q == nullptr) {
    ++ignored_writes_;
    return Effect::kNone;
  }
  if (offset == kQueueMsixVector && size == 2) {
    q->msix_vector = checked_vector(static_cast<uint16_t>(value));
    return Effect::kVectorChanged;
  }
  // A queue's layout is fixed once it is enabled or the device runs.
  if (q->enabled || (status_ & kStatusDriverOk)) {
    ++ignored_writes_;
    return Effect::kNone;
  }
  if (offset == kQueueSize && size == 2) {
    const auto requested = static_cast<uint16_t>(value);
    if (is_power_of_two(requested) && requested <= max_queue_size_) {
      q->size = requested;
    } else {
      ++ignored_writes_;  // refused: the driver reads back the old size
    }
  } else if (offset == kQueueEnable && size == 2) {
    if (value == 1) {
      q->enabled = true;
    } else {
      ++ignored_writes_;  // only a reset disables a queue
    }
  } else if (offset >= kQueueDesc && offset < kQueueNotifyData) {
    const unsigned field = (offset - kQueueDesc) / 8;
    uint64_t& address = field == 0 ? q->desc : field == 1 ? q->driver : q->device;
    const unsigned byte = (offset - kQueueDesc) % 8;
    if ((size == 8 && byte == 0) || (size == 4 && (byte == 0 || byte == 4))) {
      write_address_part(address, byte / 4, value, size);
    } else {
      ++ignored_writes_;
    }
  } else {
    ++ignored_writes_;
  }
  return Effect::kNone;
}

void CommonConfig::write_address_part(uint64_t& field, unsigned dword, uint64_t value, size_t size) {
  if (size == 8) {
    field = value;
    return;
  }
  const unsigned shift = 32 * dword;
  field = (field & ~(uint64_t{0xffffffff} << shift)) | ((value & 0xffffffff) << shift);
}

uint16_t CommonConfig::checked_vector(uint16_t vector) const {
  return vector < msix_vectors_ ? vector : kNoVector;
}

QueueConfig* CommonConfig::selected_queue() {
  return queue_select_ < queues_.size() ? &queues_[queue_select_] : nullptr;
}

}  // namespace bulwark::virtio_pci
