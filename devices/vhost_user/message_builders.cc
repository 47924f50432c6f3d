// Encoding requests and replies. The builders trust their caller (our own code); the channel
// still refuses to send a payload or fd count the protocol does not allow.
#include <utility>

#include "devices/vhost_user/protocol.h"
#include "devices/vhost_user/wire_format.h"

namespace bulwark::vhost_user {

namespace {

Message header_only(Request request, bool need_reply) {
  Message message;
  message.request = static_cast<uint32_t>(request);
  message.flags = kVersion1 | (need_reply ? kNeedReplyFlag : 0);
  return message;
}

}  // namespace

Message make_request(Request request, std::span<const uint8_t> payload, bool need_reply) {
  Message message = header_only(request, need_reply);
  message.payload.assign(payload.begin(), payload.end());
  return message;
}

Message make_u64_request(Request request, uint64_t value, bool need_reply) {
  Message message = header_only(request, need_reply);
  wire::append(message.payload, value);
  return message;
}

Message make_vring_state_request(Request request, VringState state, bool need_reply) {
  Message message = header_only(request, need_reply);
  wire::append(message.payload, state.index);
  wire::append(message.payload, state.num);
  return message;
}

Message make_vring_address_request(VringAddress address, bool need_reply) {
  Message message = header_only(Request::SET_VRING_ADDR, need_reply);
  wire::append(message.payload, address.index);
  wire::append(message.payload, address.flags);
  wire::append(message.payload, address.desc_user_addr);
  wire::append(message.payload, address.used_user_addr);
  wire::append(message.payload, address.avail_user_addr);
  wire::append(message.payload, address.log_guest_addr);
  return message;
}

Message make_memory_table_request(std::span<const MemoryRegion> regions, std::vector<UniqueFd> fds,
                                  bool need_reply) {
  Message message = header_only(Request::SET_MEM_TABLE, need_reply);
  wire::append(message.payload, static_cast<uint32_t>(regions.size()));
  wire::append(message.payload, uint32_t{0});
  for (const MemoryRegion& region : regions) {
    wire::append(message.payload, region.guest_phys_addr);
    wire::append(message.payload, region.memory_size);
    wire::append(message.payload, region.userspace_addr);
    wire::append(message.payload, region.mmap_offset);
  }
  message.fds = std::move(fds);
  return message;
}

Message make_vring_fd_request(Request request, uint8_t index, UniqueFd fd, bool need_reply) {
  Message message = header_only(request, need_reply);
  const bool no_fd = !fd.valid();
  wire::append(message.payload, uint64_t{index} | (no_fd ? kVringNoFdFlag : 0));
  if (!no_fd) message.fds.push_back(std::move(fd));
  return message;
}

Message make_config_request(Request request, const DeviceConfig& config, bool need_reply) {
  Message message = header_only(request, need_reply);
  wire::append(message.payload, config.offset);
  wire::append(message.payload, config.size);
  wire::append(message.payload, config.flags);
  message.payload.insert(message.payload.end(), config.bytes.begin(), config.bytes.end());
  return message;
}

Message make_reply(const Message& request, std::span<const uint8_t> payload) {
  Message reply;
  reply.request = request.request;
  reply.flags = kVersion1 | kReplyFlag;
  reply.payload.assign(payload.begin(), payload.end());
  return reply;
}

Message make_u64_reply(const Message& request, uint64_t value) {
  Message reply = make_reply(request, {});
  wire::append(reply.payload, value);
  return reply;
}

}  // namespace bulwark::vhost_user
