// What the monitor's vhost-user frontend asks of a backend, shared by its handshake
// (vhost_user_frontend.cc) and a replacement's (frontend_reconnect.cc), which must agree.
#pragma once

#include <cstdint>

#include "devices/vhost_user/protocol.h"

namespace bulwark::vhost_user::frontend {

inline constexpr uint64_t kProtocolFeaturesBit = 1ULL << kFeatureProtocolFeatures;
inline constexpr uint64_t kWantedProtocolFeatures = (1ULL << kProtocolMq) | (1ULL << kProtocolReplyAck) |
                                                    (1ULL << kProtocolConfig) | (1ULL << kProtocolInflightShmfd);
// More than any device here would use; a larger GET_QUEUE_NUM is only capped, not an error.
inline constexpr uint64_t kMaxReportedQueues = 0xffff;
// virtio-blk's writeback byte: the only configuration field a driver writes.
inline constexpr uint32_t kBlockWritebackOffset = 32;

}  // namespace bulwark::vhost_user::frontend
