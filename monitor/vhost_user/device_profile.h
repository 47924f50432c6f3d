// What the monitor's virtio-pci transport supports of each device type it reaches over
// vhost-user: the feature bits it lets through to the guest, the configuration space it asks
// the backend for, and the queue limits. A backend may offer more; the rest is masked off.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace bulwark::vhost_user {

enum class DeviceKind { kBlock, kRng, kNet, kVsock };

struct DeviceProfile {
  DeviceKind kind;
  uint32_t virtio_device_type;  // 1 network, 2 block, 4 entropy, 19 socket
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
// virtio-net (virtio 1.x, 5.1.3): CTRL_VQ, MQ, and max_virtqueue_pairs in its configuration.
inline constexpr uint64_t kVirtioNetFCtrlVq = 1ULL << 17;
inline constexpr uint64_t kVirtioNetFMq = 1ULL << 22;
// CTRL_GUEST_OFFLOADS 2, CTRL_RX 18, CTRL_VLAN 19, CTRL_RX_EXTRA 20, GUEST_ANNOUNCE 21,
// CTRL_MAC_ADDR 23: meaningless without the control queue.
inline constexpr uint64_t kVirtioNetCtrlDependentFeatures =
    (1ULL << 2) | (1ULL << 18) | (1ULL << 19) | (1ULL << 20) | (1ULL << 21) | (1ULL << 23);
inline constexpr uint32_t kVirtioNetMaxPairsOffset = 8;
inline constexpr uint16_t kVirtioNetMaxQueuePairs = 8;
// virtio-vsock (virtio 1.2, 5.10): rx, tx and event queues, always all three.
inline constexpr uint16_t kVirtioVsockQueues = 3;

const DeviceProfile& profile_of(DeviceKind kind);
// "vhost-user-blk" / "vhost-user-rng" / "vhost-user-net" / "vhost-user-vsock" (the config's type names).
std::optional<DeviceKind> device_kind_from_name(std::string_view name);
std::string_view device_kind_name(DeviceKind kind);

}  // namespace bulwark::vhost_user
