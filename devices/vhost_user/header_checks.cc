// Header rules every message must follow, and whether a reply answers the request sent.
#include <string>

#include "devices/vhost_user/protocol.h"
#include "devices/vhost_user/wire_format.h"

namespace bulwark::vhost_user {

Status check_header(const Message& message) {
  if ((message.flags & kVersionMask) != kVersion1) {
    return Error(wire::named(message) + ": protocol version " +
                 std::to_string(message.flags & kVersionMask) + ", expected 1");
  }
  if ((message.flags & ~(kVersionMask | kReplyFlag | kNeedReplyFlag)) != 0) {
    return Error(wire::named(message) + ": unknown header flags");
  }
  return ok_status();
}

Status check_reply_to(Request request, const Message& reply) {
  BULWARK_TRY(check_header(reply));
  if (reply.request != static_cast<uint32_t>(request)) {
    return Error(std::string("reply to ") + request_name(static_cast<uint32_t>(request)) + " came as " +
                 request_name(reply.request) + " (" + std::to_string(reply.request) + ")");
  }
  if (!reply.is_reply()) {
    return Error(std::string("reply to ") + request_name(reply.request) + " lacks the reply flag");
  }
  return ok_status();
}

}  // namespace bulwark::vhost_user
