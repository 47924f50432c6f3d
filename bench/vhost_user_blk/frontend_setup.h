// The vhost-user frontend's side of bringing a virtio-blk backend up for one queue, in the
// order QEMU uses: features, protocol features (REPLY_ACK), SET_OWNER, SET_FEATURES, the memory
// table, the vring, and SET_VRING_ENABLE.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "bench/vhost_user_blk/driver_queue.h"
#include "bench/vhost_user_blk/shared_memory.h"
#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"

namespace bulwark::bench {

// Connects to the backend's listening unix socket, retrying until `patience` runs out (the
// device process may still be starting).
Result<UniqueFd> connect_backend(const std::string& socket_path, std::chrono::milliseconds patience);

struct NegotiatedFeatures {
  uint64_t offered = 0;
  uint64_t accepted = 0;
  bool reply_ack = false;
};

// Queue 0 only. `kick_fd` / `call_fd` are duplicated into the messages.
Result<NegotiatedFeatures> set_up_backend(int socket_fd, const SharedMemory& memory, const DriverQueue& queue,
                                          int kick_fd, int call_fd);

}  // namespace bulwark::bench
