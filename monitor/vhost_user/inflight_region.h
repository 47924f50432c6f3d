// The in-flight record the frontend keeps for one device (vhost-user
// VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD): the memfd a device process returned to GET_INFLIGHT_FD
// and the description it came with. The monitor never maps it: it only holds it so that a
// replacement process can be handed its predecessor's record (SET_INFLIGHT_FD) and resubmit
// what the predecessor took and never completed.
// Whose input: the GET_INFLIGHT_FD reply of a device process (possibly compromised): its
// description is bounded here and by parse_inflight_description; the record's bytes are checked
// by the next process that maps it (devices/inflight), never by the monitor.
#pragma once

#include <cstdint>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"
#include "devices/vhost_user/protocol.h"

namespace bulwark::vhost_user {

class InflightRegion {
 public:
  // GET_INFLIGHT_FD for `queues` queues of up to `queue_size` entries.
  static Message request(uint16_t queues, uint16_t queue_size);
  // The reply to request(queues, queue_size): one fd, a description for exactly that geometry.
  static Result<InflightRegion> from_reply(Message reply, uint16_t queues, uint16_t queue_size);

  // SET_INFLIGHT_FD handing this record (a duplicate of its fd) to a process.
  Result<Message> handover() const;
  const InflightDescription& description() const { return description_; }
  int fd() const { return fd_.get(); }

 private:
  InflightRegion(UniqueFd fd, InflightDescription description)
      : fd_(std::move(fd)), description_(description) {}
  UniqueFd fd_;
  InflightDescription description_;
};

}  // namespace bulwark::vhost_user
