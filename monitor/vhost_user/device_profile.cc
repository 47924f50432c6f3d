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
// virtio-rng has no feature bits of its own and no configuration space.
constexpr DeviceProfile kRng{DeviceKind::kRng, 4, kTransportFeatures, 0, 1, 256};

}  // namespace

const DeviceProfile& profile_of(DeviceKind kind) { return kind == DeviceKind::kBlock ? kBlock : kRng; }

std::optional<DeviceKind> device_kind_from_name(std::string_view name) {
  if (name == "vhost-user-blk") return DeviceKind::kBlock;
  if (name == "vhost-user-rng") return DeviceKind::kRng;
  return std::nullopt;
}

std::string_view device_kind_name(DeviceKind kind) {
  return kind == DeviceKind::kBlock ? "vhost-user-blk" : "vhost-user-rng";
}

}  // namespace bulwark::vhost_user
