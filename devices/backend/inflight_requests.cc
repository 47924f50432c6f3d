// The in-flight record (VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD, issue 18): GET_INFLIGHT_FD makes
// one the frontend keeps; SET_INFLIGHT_FD hands one (perhaps a dead predecessor's) to this
// process; attach_in_flight() gives a starting ring its part of it. A frontend's description is
// bounded by the parser and the device's own geometry; the record's bytes by recover().
#include <string>
#include <utility>

#include "bulwark/common/log.h"
#include "devices/backend/backend_server.h"
#include "devices/backend/request_errors.h"
#include "devices/vhost_user/channel.h"

namespace bulwark::backend {

namespace vu = vhost_user;
using detail::named;

namespace {
// The description must fit this device: no more queues than it has, queues no larger than it
// takes.
Status fits_device(const vu::Message& message, const vu::InflightDescription& description, uint16_t queues,
                   uint16_t max_queue_size) {
  if (description.num_queues > queues) {
    return Error(named(message) + ": " + std::to_string(description.num_queues) + " queues, the device has " +
                 std::to_string(queues));
  }
  if (description.queue_size > max_queue_size) {
    return Error(named(message) + ": queue size " + std::to_string(description.queue_size) + " above the device's " +
                 std::to_string(max_queue_size));
  }
  return ok_status();
}
}  // namespace

Status BackendServer::get_inflight_fd(const vu::Message& message) {
  auto description = vu::parse_inflight_description(message, 0);
  if (!description.ok()) return malformed(description.error());
  BULWARK_TRY(fits_device(message, *description, device_.num_queues(), device_.max_queue_size()));
  auto made = InflightMapping::create(description->num_queues, description->queue_size);
  if (!made.ok()) return made.error().wrap(named(message));
  // The frontend gets the fd (and keeps the memory for a successor); this process keeps only
  // the mapping, until SET_INFLIGHT_FD (which may name the same memory) or the session's end.
  UniqueFd fd = made->take_fd();
  const vu::InflightDescription answer = made->description();
  inflight_.reset();
  inflight_.emplace(std::move(*made));
  return vu::send_message(socket_.get(), vu::make_inflight_reply(message, answer, std::move(fd)));
}

Status BackendServer::set_inflight_fd(const vu::Message& message) {
  auto description = vu::parse_inflight_description(message, 1);
  if (!description.ok()) return malformed(description.error());
  BULWARK_TRY(fits_device(message, *description, device_.num_queues(), device_.max_queue_size()));
  for (uint16_t i = 0; i < vrings_.size(); ++i) {
    if (vrings_[i].queue) return Error(named(message) + ": queue " + std::to_string(i) + " is running");
  }
  auto adopted = InflightMapping::adopt(message.fds[0].get(), *description);
  if (!adopted.ok()) return adopted.error().wrap(named(message));
  inflight_.reset();
  inflight_.emplace(std::move(*adopted));
  return ok_status();
}

Status BackendServer::attach_in_flight(uint16_t index) {
  Vring& vring = vrings_[index];
  if (!inflight_ || !vring.queue) return ok_status();
  if (index >= inflight_->queues() || vring.size > inflight_->queue_size()) {
    log::warn("queue " + std::to_string(index) + ": the in-flight record covers " +
              std::to_string(inflight_->queues()) + " queues of " + std::to_string(inflight_->queue_size()) +
              "; this ring runs without one");
    return ok_status();
  }
  vring.record.emplace(inflight_->queue_region(index), vring.size);
  virtio::SplitQueue& queue = *vring.queue;
  const bool first_attach = !vring.record_attached_before;
  vring.record_attached_before = true;
  if (vring.record->fresh()) {
    vring.record->initialise(acked_features_, queue.next_used());
    queue.track_in_flight(&*vring.record);
    return ok_status();
  }
  auto recovery = vring.record->recover(acked_features_, queue.next_used());
  if (!recovery.ok()) {
    vring.record.reset();
    return recovery.error();
  }
  if (!recovery->heads.empty() || recovery->completed_batch_fixed) {
    log::info("queue " + std::to_string(index) + ": " + std::to_string(recovery->heads.size()) +
              " requests in flight in the record are resubmitted" +
              (recovery->completed_batch_fixed ? " (one completed just before the record was updated)" : ""));
  }
  // The ring resumes after everything taken: the frontend's base is the used index when the
  // previous process died (QEMU's), which would take the in-flight requests a second time.
  queue.set_next_avail(recovery->last_avail_idx);
  queue.track_in_flight(&*vring.record, std::move(recovery->heads));
  if (first_attach && !predecessor_reported_) {
    predecessor_reported_ = true;
    device_.predecessor_served();
  }
  return ok_status();
}

}  // namespace bulwark::backend
