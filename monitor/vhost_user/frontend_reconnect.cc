// VhostUserFrontend::reconnect: a replacement device process takes over a device whose process
// went away (vhost_user_frontend.h). Whose input: the replacement's replies, as hostile as any
// device process's (reply_channel.h); it must offer exactly what its predecessor did.
#include <algorithm>
#include <string>
#include <utility>

#include "bulwark/common/hex.h"
#include "bulwark/common/log.h"
#include "monitor/vhost_user/frontend_features.h"
#include "monitor/vhost_user/vhost_user_frontend.h"

namespace bulwark::vhost_user {
using frontend::kBlockWritebackOffset;
using frontend::kMaxReportedQueues;
using frontend::kProtocolFeaturesBit;
using frontend::kWantedProtocolFeatures;

Status VhostUserFrontend::reconnect(UniqueFd socket) {
  std::lock_guard<std::mutex> serial(round_trip_mutex_);
  if (failed()) return failed_error();
  // The launcher may learn of the death (waitpid) before the main loop sees the hang-up.
  if (!disconnected()) {
    if (!process_gone()) return Error(options_.name + ": its device process has not gone away; nothing to replace");
    // Without an in-flight record this fails the device: nothing to hand a replacement.
    if (!disconnect("the device process closed its connection (it exited or was killed)")) return failed_error();
  }
  if (!socket.valid() && options_.transport == nullptr) {
    fail("no socket for the replacement device process");
    return failed_error();
  }
  socket_ = std::move(socket);
  channel_ = ReplyChannel(socket_.get(), options_.reply_timeout, options_.before_reply_wait, options_.transport);
  Status s = replay_handshake();
  if (s.ok()) s = replay_config();
  if (s.ok() && started_features_) s = start_queues(true);
  if (!s.ok()) {
    fail(s.error().wrap("the replacement device process").message());
    return failed_error();
  }
  disconnected_.store(false);
  log::info(options_.name + ": a replacement device process took over (" + std::to_string(started_queues_.size()) +
            " queues resumed at their used index" + (inflight_ ? ", with the in-flight record)" : ")"));
  return ok_status();
}

Status VhostUserFrontend::replay_handshake() {
  BULWARK_TRY(channel_.prepare_socket());
  BULWARK_TRY(channel_.send(make_request(Request::SET_OWNER)));
  Result<Message> features = channel_.call(make_request(Request::GET_FEATURES));
  if (!features.ok()) return features.error();
  Result<uint64_t> offered = parse_u64(*features);
  if (!offered.ok()) return offered.error().wrap("reply to GET_FEATURES");
  // The guest's driver negotiated with the predecessor's features: the replacement must offer
  // the same (a different binary or configuration is not a replacement).
  if (*offered != backend_features_) {
    return Error("it offers features " + hex(*offered) + ", the device was negotiated with " +
                 hex(backend_features_));
  }
  if ((backend_features_ & kProtocolFeaturesBit) != 0) {
    Result<Message> reply = channel_.call(make_request(Request::GET_PROTOCOL_FEATURES));
    if (!reply.ok()) return reply.error();
    Result<uint64_t> protocol = parse_u64(*reply);
    if (!protocol.ok()) return protocol.error().wrap("reply to GET_PROTOCOL_FEATURES");
    if ((*protocol & kWantedProtocolFeatures) != protocol_features_) {
      return Error("it offers protocol features " + hex(*protocol & kWantedProtocolFeatures) +
                   " (of those the monitor uses), the device was negotiated with " + hex(protocol_features_));
    }
    BULWARK_TRY(channel_.send(make_u64_request(Request::SET_PROTOCOL_FEATURES, protocol_features_, false)));
    if ((protocol_features_ & (1ULL << kProtocolMq)) != 0) {
      Result<Message> queues = channel_.call(make_request(Request::GET_QUEUE_NUM));
      if (!queues.ok()) return queues.error();
      Result<uint64_t> count = parse_u64(*queues);
      if (!count.ok()) return count.error().wrap("reply to GET_QUEUE_NUM");
      if (std::min(*count, kMaxReportedQueues) != backend_queues_) {
        return Error("it serves " + std::to_string(*count) + " queues (GET_QUEUE_NUM), its predecessor " +
                     std::to_string(backend_queues_));
      }
    }
  }
  return send_memory_table();
}

// The one configuration field a driver writes (virtio-blk's writeback byte), when it did.
Status VhostUserFrontend::replay_config() {
  if (!writeback_written_ || profile_.kind != DeviceKind::kBlock ||
      (protocol_features_ & (1ULL << kProtocolConfig)) == 0 || config_.size() <= kBlockWritebackOffset) {
    return ok_status();
  }
  DeviceConfig request;
  request.offset = kBlockWritebackOffset;
  request.size = 1;
  request.flags = 0;
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    request.bytes.assign(1, config_[kBlockWritebackOffset]);
  }
  return send_maybe_acked(make_config_request(Request::SET_CONFIG, request));
}

}  // namespace bulwark::vhost_user
