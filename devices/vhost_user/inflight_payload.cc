// GET_INFLIGHT_FD / SET_INFLIGHT_FD's "inflight description" (QEMU's vhost-user.rst): the size
// and offset of the shared in-flight record and the queue geometry it was made for. The
// frontend sends it to ask for a record (GET, no fd) and to hand one back (SET, one fd); the
// backend answers GET with the description and the record's fd. Whose input: the other side of
// the vhost-user socket (the monitor, guest-facing; or a device process that may have been
// compromised), so every field is bounded here and the record itself is checked again where it
// is mapped (devices/inflight).
#include <string>

#include "devices/vhost_user/protocol.h"
#include "devices/vhost_user/wire_format.h"

namespace bulwark::vhost_user {

namespace {
// The payload: u64 mmap_size, u64 mmap_offset, u16 num_queues, u16 queue_size, padded to 24 as
// QEMU's (unpacked) struct is.
constexpr size_t kInflightSize = 24;
constexpr uint64_t kMaxInflightBytes = uint64_t{64} << 20;
}  // namespace

Result<InflightDescription> parse_inflight_description(const Message& message, size_t fds) {
  BULWARK_TRY(wire::expect_size(message, kInflightSize));
  BULWARK_TRY(wire::expect_fds(message, fds));
  InflightDescription description;
  description.mmap_size = wire::field<uint64_t>(message.payload, 0);
  description.mmap_offset = wire::field<uint64_t>(message.payload, 8);
  description.num_queues = wire::field<uint16_t>(message.payload, 16);
  description.queue_size = wire::field<uint16_t>(message.payload, 18);
  const std::string name = wire::named(message);
  if (description.num_queues == 0 || description.num_queues > kMaxInflightQueues) {
    return Error(name + ": " + std::to_string(description.num_queues) + " queues, expected 1 to " +
                 std::to_string(kMaxInflightQueues));
  }
  const uint16_t size = description.queue_size;
  if (size == 0 || size > kMaxInflightQueueSize || (size & (size - 1)) != 0) {
    return Error(name + ": queue size " + std::to_string(size) + " is not a power of two up to " +
                 std::to_string(kMaxInflightQueueSize));
  }
  // GET's sizes are unused (zero from QEMU); a record handed over must lie within its mapping.
  if (fds == 1) {
    if (description.mmap_size == 0 || description.mmap_size > kMaxInflightBytes) {
      return Error(name + ": record of " + std::to_string(description.mmap_size) + " bytes, expected 1 to " +
                   std::to_string(kMaxInflightBytes));
    }
    if (description.mmap_offset % 4096 != 0 || description.mmap_offset > kMaxInflightBytes) {
      return Error(name + ": record offset " + std::to_string(description.mmap_offset) +
                   " is not a page multiple within 64 MiB");
    }
  }
  return description;
}

namespace {
std::vector<uint8_t> inflight_payload(const InflightDescription& description) {
  std::vector<uint8_t> payload;
  wire::append<uint64_t>(payload, description.mmap_size);
  wire::append<uint64_t>(payload, description.mmap_offset);
  wire::append<uint16_t>(payload, description.num_queues);
  wire::append<uint16_t>(payload, description.queue_size);
  payload.resize(kInflightSize, 0);
  return payload;
}
}  // namespace

Message make_inflight_message(Request request, const InflightDescription& description, UniqueFd fd,
                              bool need_reply) {
  Message message = make_request(request, inflight_payload(description), need_reply);
  if (fd.valid()) message.fds.push_back(std::move(fd));
  return message;
}

Message make_inflight_reply(const Message& request, const InflightDescription& description, UniqueFd fd) {
  Message reply = make_reply(request, inflight_payload(description));
  reply.fds.push_back(std::move(fd));
  return reply;
}

}  // namespace bulwark::vhost_user
