#include "monitor/vhost_user/device_profile.h"

namespace bulwark::vhost_user {
namespace {

constexpr uint64_t kTransportFeatures = kVirtioFVersion1 | kVirtioFIndirectDesc | kVirtioFEventIdx;

// virtio-blk feature bits (virtio 1.x, 5.2.3): SIZE_MAX 1, SEG_MAX 2, GEOMETRY 4, RO 5,
// BLK_SIZE 6, FLUSH 9, TOPOLOGY 10, CONFIG_WCE 11, MQ 12, DISCARD 13, WRITE_ZEROES 14.
constexpr uint64_t kBlockFeatures = (1ULL << 1) | (1ULL << 2) | (1ULL << 4) | (1ULL << 5) |
                                    (1ULL << 6) | (1ULL << 9) | (1ULL << 10) | (1ULL << 11) |
                                    kVirtioBlkFMq | (1ULL << 13) | (1ULL << 14);

// struct virtio_blk_config up to write_zeroes_may_unmap and its padding: 60 bytes. Backends
// refuse a GET_CONFIG larger than their own structure, so ask for no more than the fields the
// supported features use.
constexpr DeviceProfile kBlock{DeviceKind::kBlock, 2, kTransportFeatures | kBlockFeatures, 60, 8, 256};
// virtio-net feature bits (virtio 1.x, 5.1.3) that bulwark-dev-net implements: CSUM 0,
// GUEST_CSUM 1, CTRL_GUEST_OFFLOADS 2, MTU 3, MAC 5, GUEST_TSO4 7, GUEST_TSO6 8, GUEST_ECN 9,
// HOST_TSO4 11, HOST_TSO6 12, HOST_ECN 13, MRG_RXBUF 15, STATUS 16, CTRL_VQ 17, CTRL_RX 18,
// GUEST_ANNOUNCE 21, MQ 22, CTRL_MAC_ADDR 23. UFO (10, 14) is not: Linux dropped it, TAPs refuse it.
constexpr uint64_t kNetFeatures = (1ULL << 0) | (1ULL << 1) | (1ULL << 2) | (1ULL << 3) | (1ULL << 5) |
                                  (1ULL << 7) | (1ULL << 8) | (1ULL << 9) | (1ULL << 11) | (1ULL << 12) |
                                  (1ULL << 13) | (1ULL << 15) | (1ULL << 16) | kVirtioNetFCtrlVq |
                                  (1ULL << 18) | (1ULL << 21) | kVirtioNetFMq | (1ULL << 23);
// struct virtio_net_config up to mtu (mac 6, status 2, max_virtqueue_pairs 2, mtu 2): SPEED_DUPLEX
// and RSS are not offered, so nothing past it is asked for. 8 queue pairs and a control queue.
constexpr DeviceProfile kNet{DeviceKind::kNet, 1, kTransportFeatures | kNetFeatures, 12,
                             2 * kVirtioNetMaxQueuePairs + 1, 256};
// virtio-rng has no feature bits of its own and no configuration space.
constexpr DeviceProfile kRng{DeviceKind::kRng, 4, kTransportFeatures, 0, 1, 256};
// virtio-vsock: stream sockets only (no SEQPACKET bit), configuration space the guest's CID (le64),
// read from the backend with GET_CONFIG (bulwark-dev-vsock serves its --guest-cid there, as
// QEMU's vhost-user-vsock-pci reads it).
constexpr DeviceProfile kVsock{DeviceKind::kVsock, 19, kTransportFeatures, 8, kVirtioVsockQueues, 256};

}  // namespace

const DeviceProfile& profile_of(DeviceKind kind) {
  switch (kind) {
    case DeviceKind::kBlock: return kBlock;
    case DeviceKind::kNet: return kNet;
    case DeviceKind::kVsock: return kVsock;
    case DeviceKind::kRng: break;
  }
  return kRng;
}

std::optional<DeviceKind> device_kind_from_name(std::string_view name) {
  if (name == "vhost-user-blk") return DeviceKind::kBlock;
  if (name == "vhost-user-rng") return DeviceKind::kRng;
  if (name == "vhost-user-net") return DeviceKind::kNet;
  if (name == "vhost-user-vsock") return DeviceKind::kVsock;
  return std::nullopt;
}

std::string_view device_kind_name(DeviceKind kind) {
  switch (kind) {
    case DeviceKind::kBlock: return "vhost-user-blk";
    case DeviceKind::kNet: return "vhost-user-net";
    case DeviceKind::kVsock: return "vhost-user-vsock";
    case DeviceKind::kRng: break;
  }
  return "vhost-user-rng";
}

}  // namespace bulwark::vhost_user
