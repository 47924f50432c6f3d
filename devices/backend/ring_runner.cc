// Starting, stopping and serving rings. A ring runs once it has a size, addresses inside
// shared memory, a kick fd and (with PROTOCOL_FEATURES) SET_VRING_ENABLE 1. A ring the guest
// breaks is stopped and reported on its ERR eventfd; the other rings carry on.
#include <errno.h>
#include <sys/epoll.h>

#include <string>
#include <utility>

#include "bulwark/common/log.h"
#include "devices/backend/backend_server.h"
#include "devices/backend/eventfd_io.h"
#include "devices/backend/feature_bits.h"

namespace bulwark::backend {

using detail::drain_eventfd;
using detail::signal_eventfd;

Status BackendServer::refresh(uint16_t index) {
  Vring& vring = vrings_[index];
  const bool enabled = protocol_features_negotiated() ? vring.enabled : true;
  const bool ready = vring.kick.valid() && enabled && !vring.failed && vring.size != 0 &&
                     vring.address.has_value() && memory_.has_value();
  if (!ready) {
    stop(index);
    return ok_status();
  }
  if (vring.queue) return ok_status();
  // Ring addresses are the frontend's virtual addresses; a bad one is the guest's doing
  // (it chose the rings), so it fails the queue, not the session.
  const virtio::GuestMemoryMap& map = memory_->map();
  auto desc = map.frontend_to_guest(vring.address->desc_user_addr);
  auto avail = map.frontend_to_guest(vring.address->avail_user_addr);
  auto used = map.frontend_to_guest(vring.address->used_user_addr);
  if (!desc || !avail || !used) {
    fail_queue(index, Error("a ring address lies outside the shared memory"));
    return ok_status();
  }
  auto queue = virtio::SplitQueue::create(map, {vring.size, *desc, *avail, *used},
                                          (acked_features_ & feature_bit(kFeatureEventIdx)) != 0,
                                          (acked_features_ & feature_bit(kFeatureIndirectDesc)) != 0);
  if (!queue.ok()) {
    fail_queue(index, queue.error());
    return ok_status();
  }
  queue->set_next_avail(vring.base);
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = uint64_t{index} + 1;
  if (epoll_.valid() && ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, vring.kick.get(), &event) != 0) {
    return Error::from_errno("queue " + std::to_string(index) + ": the kick fd cannot be waited on", errno);
  }
  // SplitQueue::create checked the available ring lies in guest memory, 2-byte aligned.
  auto avail_header = map.translate(*avail, 4);
  if (!avail_header) {
    fail_queue(index, Error("the available ring lies outside the shared memory"));
    return ok_status();
  }
  vring.avail_index = reinterpret_cast<const uint16_t*>(avail_header->data() + 2);
  vring.polled_from = vring.base;
  vring.queue.emplace(std::move(*queue));
  if (Status in_flight = attach_in_flight(index); !in_flight.ok()) {
    fail_queue(index, in_flight.error());
    return ok_status();
  }
  // Buffers offered before the ring started would otherwise wait for the next kick.
  vring.pending = true;
  device_.queue_running(index, true);
  return ok_status();
}

void BackendServer::stop(uint16_t index) {
  Vring& vring = vrings_[index];
  if (!vring.queue) return;
  if (epoll_.valid()) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, vring.kick.get(), nullptr);
  device_.queue_stopping(index, *vring.queue);
  vring.base = vring.queue->next_avail();
  vring.queue.reset();
  vring.record.reset();
  vring.avail_index = nullptr;
  vring.pending = false;
  device_.queue_running(index, false);
}

void BackendServer::serve_kick(uint16_t index) {
  if (index >= vrings_.size()) return;
  Vring& vring = vrings_[index];
  if (!vring.queue) return;
  // The kick is consumed here, so `pending` is what brings the loop back to this queue.
  drain_eventfd(vring.kick.get());
  vring.pending = true;
}

uint32_t BackendServer::serve_batch(uint16_t index) {
  Vring& vring = vrings_[index];
  if (!vring.queue) {
    vring.pending = false;
    return 0;
  }
  Result<uint32_t> served = device_.process_queue(index, *vring.queue, chains_per_turn_);
  // What the device completed before any error still reaches the guest.
  if (vring.queue->should_notify()) signal_eventfd(vring.call.get());
  if (!served.ok()) {
    fail_queue(index, served.error());
    return 0;
  }
  // A full batch: more may be waiting, and no kick will say so (the guest kicked once, or
  // EVENT_IDX told it not to). A short one: the queue is empty until the next kick.
  vring.pending = *served >= chains_per_turn_;
  // Polling waits for chains past those the device has seen: a device that left some on the
  // ring (throttled) is not woken again and again for them.
  if (!vring.pending && poll_.enabled()) {
    const uint16_t next = vring.queue->next_avail();
    const uint16_t avail = read_avail_index(vring);
    vring.polled_from = *served == 0 && avail != next ? avail : next;
  }
  return *served;
}

uint16_t BackendServer::read_avail_index(const Vring& vring) const {
  // The guest writes it at any time: one aligned load, never torn or cached (little-endian
  // host, as SplitQueue assumes).
  return __atomic_load_n(vring.avail_index, __ATOMIC_RELAXED);
}

bool BackendServer::poll_rings(Clock::time_point deadline) {
  for (;;) {
    bool found = false;
    for (Vring& vring : vrings_) {
      if (!vring.queue || vring.avail_index == nullptr) continue;
      if (read_avail_index(vring) != vring.polled_from) {
        vring.pending = true;
        found = true;
      }
    }
    if (found) return true;
    if (Clock::now() >= deadline) return false;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();  // spin-wait hint: yields the core to a hyperthread sibling
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }
}

bool BackendServer::any_pending() const {
  if (paused_) return false;  // the loop waits (for Resume) instead of spinning on held work
  for (const Vring& vring : vrings_)
    if (vring.pending) return true;
  return false;
}

void BackendServer::fail_queue(uint16_t index, const Error& why) {
  Vring& vring = vrings_[index];
  stop(index);
  vring.failed = true;
  log::error("queue " + std::to_string(index) + " stopped, the guest broke it: " + why.message());
  signal_eventfd(vring.err.get());
}

}  // namespace bulwark::backend
