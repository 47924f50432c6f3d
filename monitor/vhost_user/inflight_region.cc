#include "monitor/vhost_user/inflight_region.h"

#include <fcntl.h>

#include <cerrno>
#include <string>
#include <utility>

namespace bulwark::vhost_user {

Message InflightRegion::request(uint16_t queues, uint16_t queue_size) {
  InflightDescription description;
  description.num_queues = queues;
  description.queue_size = queue_size;
  return make_inflight_message(Request::GET_INFLIGHT_FD, description);
}

Result<InflightRegion> InflightRegion::from_reply(Message reply, uint16_t queues, uint16_t queue_size) {
  Result<InflightDescription> description = parse_inflight_description(reply, 1);
  if (!description.ok()) return description.error().wrap("reply to GET_INFLIGHT_FD");
  // A record for another geometry would not cover the rings it is handed over for.
  if (description->num_queues != queues || description->queue_size != queue_size) {
    return Error("reply to GET_INFLIGHT_FD: a record for " + std::to_string(description->num_queues) +
                 " queues of " + std::to_string(description->queue_size) + ", asked for " +
                 std::to_string(queues) + " of " + std::to_string(queue_size));
  }
  return InflightRegion(std::move(reply.fds.front()), *description);
}

Result<Message> InflightRegion::handover() const {
  UniqueFd copy(::fcntl(fd_.get(), F_DUPFD_CLOEXEC, 0));
  if (!copy.valid()) return Error::from_errno("duplicating the in-flight record's fd", errno);
  return make_inflight_message(Request::SET_INFLIGHT_FD, description_, std::move(copy));
}

}  // namespace bulwark::vhost_user
