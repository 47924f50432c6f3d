// What the monitor's virtio-pci transport supports of each device type it reaches over
// vhost-user: the feature bits it lets through to the guest, the configuration space it asks
// the backend for, and the queue limits. A backend may offer more; the rest is masked off.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace bulwark::vhost_user {

enum class DeviceKind { kBlock, kRng };

struct DeviceProfile {
  DeviceKind kind;
  uint32_t virtio_device_type;  // 2 block, 4 entropy
  uint64_t supported_features;  // transport bits and device bits the monitor lets through
  uint32_t config_bytes;        // GET_CONFIG size; 0 = the device has no configuration space
  uint16_t max_queues;          // the most queues the monitor exposes
  uint16_t max_queue_size;      // the largest ring the guest may choose
};

// Transport feature bits (virtio 1.x, section 6).
inline constexpr uint64_t kVirtioFIndirectDesc = 1ULL << 28;
inline constexpr uint64_t kVirtioFEventIdx = 1ULL << 29;
inline constexpr uint64_t kVirtioFVersion1 = 1ULL << 32;
// virtio-blk: VIRTIO_BLK_F_MQ and the offset of num_queues in its configuration space.
inline constexpr uint64_t kVirtioBlkFMq = 1ULL << 12;
inline constexpr uint32_t kVirtioBlkNumQueuesOffset = 34;

const DeviceProfile& profile_of(DeviceKind kind);
// "vhost-user-blk" / "vhost-user-rng" (the config's type names).
std::optional<DeviceKind> device_kind_from_name(std::string_view name);
std::string_view device_kind_name(DeviceKind kind);

}  // namespace bulwark::vhost_user
