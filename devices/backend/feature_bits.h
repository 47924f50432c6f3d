// Transport feature bits the backend server offers on top of a device's own (virtio 1.x
// section 6, vhost-user GET_FEATURES).
#pragma once

#include <cstdint>

namespace bulwark::backend {

inline constexpr unsigned kFeatureIndirectDesc = 28;  // VIRTIO_RING_F_INDIRECT_DESC
inline constexpr unsigned kFeatureEventIdx = 29;      // VIRTIO_RING_F_EVENT_IDX
inline constexpr unsigned kFeatureVersion1 = 32;      // VIRTIO_F_VERSION_1

constexpr uint64_t feature_bit(unsigned bit) { return uint64_t{1} << bit; }

}  // namespace bulwark::backend
