// vhost-user replies as the monitor (frontend) receives them from a possibly compromised
// device process. Input: byte 0 picks the request the frontend sent; the rest is the byte
// stream the backend answered with, read through a real socketpair (receive_message_within,
// as the frontend reads, so a short reply must end in an error, not a wait). Each reply goes
// through check_reply_to for that request and the parser a frontend applies to its answer;
// anything accepted must really answer the request and be self-consistent.
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "bulwark/common/unique_fd.h"
#include "devices/vhost_user/channel.h"
#include "devices/vhost_user/protocol.h"

namespace {

using namespace bulwark::vhost_user;

// The requests a frontend waits for an answer to: data replies, and REPLY_ACK statuses.
constexpr Request kAnswered[] = {
    Request::GET_FEATURES,    Request::GET_PROTOCOL_FEATURES, Request::GET_QUEUE_NUM,
    Request::GET_MAX_MEM_SLOTS, Request::GET_VRING_BASE,      Request::GET_CONFIG,
    Request::SET_MEM_TABLE,   Request::SET_FEATURES,          Request::SET_VRING_KICK,
};

void check_answer(Request sent, const Message& reply) {
  if (!check_reply_to(sent, reply).ok()) return;
  if (reply.request != static_cast<uint32_t>(sent) || !reply.is_reply()) std::abort();
  if ((reply.flags & kVersionMask) != kVersion1) std::abort();
  switch (sent) {
    case Request::GET_VRING_BASE: {
      auto state = parse_vring_state(reply);
      if (state.ok() && (reply.payload.size() != 8 || !reply.fds.empty())) std::abort();
      break;
    }
    case Request::GET_CONFIG: {
      auto config = parse_device_config(reply);
      if (config.ok() && (config->bytes.size() != config->size ||
                          uint64_t{config->offset} + config->size > kMaxConfigSize)) {
        std::abort();
      }
      break;
    }
    default: {  // a u64: features, counts, or a REPLY_ACK status
      auto value = parse_u64(reply);
      if (value.ok() && (reply.payload.size() != 8 || !reply.fds.empty())) std::abort();
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 2 * (kHeaderSize + kMaxPayload)) return 0;
  const Request sent = kAnswered[data[0] % std::size(kAnswered)];
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return 0;
  bulwark::UniqueFd frontend(pair[0]);
  bulwark::UniqueFd backend(pair[1]);
  if (size > 1 && ::send(backend.get(), data + 1, size - 1, MSG_DONTWAIT | MSG_NOSIGNAL) !=
                      static_cast<ssize_t>(size - 1)) {
    return 0;
  }
  backend.reset();
  for (int i = 0; i < 4; ++i) {
    auto reply = receive_message_within(frontend.get(), std::chrono::milliseconds(1000));
    if (!reply.ok()) break;
    if (reply->payload.size() > kMaxPayload || !reply->fds.empty()) std::abort();
    check_answer(sent, *reply);
  }
  return 0;
}
