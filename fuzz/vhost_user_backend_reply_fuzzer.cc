// vhost-user replies as a frontend receives them from a (possibly compromised) backend: the
// 12-byte header and payload, through check_reply_to for each request that has a reply and the
// parsers a frontend applies to replies.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "devices/vhost_user/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bulwark::vhost_user;
  if (size < kHeaderSize || size - kHeaderSize > kMaxPayload) return 0;
  Message reply;
  std::memcpy(&reply.request, data, 4);
  std::memcpy(&reply.flags, data + 4, 4);
  reply.payload.assign(data + kHeaderSize, data + size);
  for (Request request : {Request::GET_FEATURES, Request::GET_PROTOCOL_FEATURES, Request::GET_VRING_BASE,
                          Request::GET_QUEUE_NUM, Request::GET_CONFIG, Request::GET_MAX_MEM_SLOTS,
                          Request::SET_MEM_TABLE}) {
    const bool accepted = check_reply_to(request, reply).ok();
    if (accepted && (reply.request != static_cast<uint32_t>(request) || !reply.is_reply())) std::abort();
  }
  auto value = parse_u64(reply);
  if (value.ok() && reply.payload.size() != 8) std::abort();
  auto state = parse_vring_state(reply);
  if (state.ok() && reply.payload.size() != 8) std::abort();
  auto config = parse_device_config(reply);
  if (config.ok() && config->bytes.size() != config->size) std::abort();
  return 0;
}
