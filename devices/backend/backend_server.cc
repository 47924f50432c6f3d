#include "devices/backend/backend_server.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <string>
#include <utility>

#include "bulwark/common/log.h"
#include "devices/backend/feature_bits.h"
#include "devices/vhost_user/channel.h"

namespace bulwark::backend {

namespace vu = vhost_user;

namespace {

constexpr uint64_t kSocketTag = 0;  // epoll tag of the socket; queue i has tag i + 1
constexpr uint64_t kOfferedProtocolFeatures = feature_bit(vu::kProtocolMq) |
                                              feature_bit(vu::kProtocolReplyAck) |
                                              feature_bit(vu::kProtocolConfig);

std::string named(const vu::Message& message) { return vu::request_name(message.request); }

std::string hex(uint64_t value) {
  static const char digits[] = "0123456789abcdef";
  std::string text;
  do {
    text.insert(text.begin(), digits[value & 0xf]);
    value >>= 4;
  } while (value != 0);
  return "0x" + text;
}

// A message whose request carries nothing (GET_FEATURES, SET_OWNER, ...).
Status expect_empty(const vu::Message& message) {
  if (!message.payload.empty() || !message.fds.empty()) {
    return Error(named(message) + ": carries a payload or fds, expected none");
  }
  return ok_status();
}

// Eventfds shared with the frontend and KVM must never block this process: a frontend could
// drain a kick behind our back or hand us a full pipe as a call fd.
Status make_nonblocking(int fd, const std::string& what) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    return Error::from_errno(what + ": cannot make the fd non-blocking", errno);
  }
  return ok_status();
}

void signal_eventfd(int fd) {
  if (fd < 0) return;
  const uint64_t one = 1;
  // EAGAIN: the counter is saturated, the peer will see a pending event anyway.
  [[maybe_unused]] ssize_t n = ::write(fd, &one, sizeof one);
}

void drain_eventfd(int fd) {
  uint64_t count = 0;
  [[maybe_unused]] ssize_t n = ::read(fd, &count, sizeof count);
}

}  // namespace

BackendServer::BackendServer(UniqueFd connected_socket, VirtioDevice& device)
    : socket_(std::move(connected_socket)),
      device_(device),
      offered_features_(device.device_features() | feature_bit(kFeatureVersion1) |
                        feature_bit(kFeatureEventIdx) | feature_bit(kFeatureIndirectDesc) |
                        feature_bit(vu::kFeatureProtocolFeatures)),
      vrings_(device.num_queues()) {}

bool BackendServer::protocol_features_negotiated() const {
  return features_set_ && (acked_features_ & feature_bit(vu::kFeatureProtocolFeatures)) != 0;
}

Status BackendServer::run() {
  epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_.valid()) return Error::from_errno("epoll_create1", errno);
  epoll_event socket_event{};
  socket_event.events = EPOLLIN;
  socket_event.data.u64 = kSocketTag;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, socket_.get(), &socket_event) != 0) {
    return Error::from_errno("epoll_ctl on the vhost-user socket", errno);
  }
  epoll_event events[16];
  for (;;) {
    const int n = ::epoll_wait(epoll_.get(), events, 16, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno("epoll_wait", errno);
    }
    for (int i = 0; i < n; ++i) {
      if (events[i].data.u64 != kSocketTag) {
        serve_kick(static_cast<uint16_t>(events[i].data.u64 - 1));
        continue;
      }
      auto message = vu::receive_message(socket_.get());
      if (!message.ok()) {
        if (message.error().message().find("closed") != std::string::npos) {
          log::info("vhost-user frontend disconnected");
          return ok_status();
        }
        log::error("vhost-user: " + message.error().message());
        return message.error();
      }
      Status handled = handle(*message);
      if (!handled.ok()) {
        log::error("vhost-user: " + handled.error().message());
        return handled.error();
      }
    }
  }
}

Status BackendServer::handle(vu::Message& message) {
  Status header = vu::check_header(message);
  if (!header.ok()) return header.error();
  if (message.is_reply()) return Error(named(message) + ": a reply where a request was expected");

  // Requests answered with data: any failure to answer ends the session.
  switch (static_cast<vu::Request>(message.request)) {
    case vu::Request::GET_FEATURES:
      BULWARK_TRY(expect_empty(message));
      return vu::send_message(socket_.get(), vu::make_u64_reply(message, offered_features_));
    case vu::Request::GET_PROTOCOL_FEATURES:
      BULWARK_TRY(expect_empty(message));
      return vu::send_message(socket_.get(), vu::make_u64_reply(message, kOfferedProtocolFeatures));
    case vu::Request::GET_QUEUE_NUM:
      BULWARK_TRY(expect_empty(message));
      return vu::send_message(socket_.get(), vu::make_u64_reply(message, device_.num_queues()));
    case vu::Request::GET_MAX_MEM_SLOTS:
      BULWARK_TRY(expect_empty(message));
      return vu::send_message(socket_.get(), vu::make_u64_reply(message, kMaxMemSlots));
    case vu::Request::GET_VRING_BASE:
      return get_vring_base(message);
    case vu::Request::GET_CONFIG:
      return get_config(message);
    default:
      break;
  }

  Status outcome;
  switch (static_cast<vu::Request>(message.request)) {
    case vu::Request::SET_OWNER:
      BULWARK_TRY(expect_empty(message));
      break;
    case vu::Request::RESET_OWNER:
      // QEMU's device reset when RESET_DEVICE was not negotiated: back to a fresh session.
      BULWARK_TRY(expect_empty(message));
      reset();
      break;
    case vu::Request::SET_FEATURES:
      outcome = set_features(message);
      break;
    case vu::Request::SET_PROTOCOL_FEATURES:
      outcome = set_protocol_features(message);
      break;
    case vu::Request::SET_MEM_TABLE:
      outcome = set_mem_table(message);
      break;
    case vu::Request::SET_VRING_NUM:
      outcome = set_vring_num(message);
      break;
    case vu::Request::SET_VRING_ADDR:
      outcome = set_vring_addr(message);
      break;
    case vu::Request::SET_VRING_BASE:
      outcome = set_vring_base(message);
      break;
    case vu::Request::SET_VRING_KICK:
    case vu::Request::SET_VRING_CALL:
    case vu::Request::SET_VRING_ERR:
      outcome = set_vring_fd(message);
      break;
    case vu::Request::SET_VRING_ENABLE:
      outcome = set_vring_enable(message);
      break;
    case vu::Request::SET_CONFIG:
      outcome = set_config(message);
      break;
    default:
      outcome = Error(named(message) + " (" + std::to_string(message.request) +
                      "): request not supported by this backend");
      break;
  }
  return acknowledge(message, outcome);
}

Status BackendServer::acknowledge(const vu::Message& message, const Status& outcome) {
  const bool reply_ack = message.needs_reply() &&
                         (acked_protocol_features_ & feature_bit(vu::kProtocolReplyAck)) != 0;
  if (!outcome.ok()) {
    // A malformed message, or a refusal the frontend has no way to hear of: end the session.
    if (!reply_ack || fatal_) return outcome.error();
    log::warn("vhost-user: refused " + outcome.error().message());
  }
  if (!reply_ack) return ok_status();
  return vu::send_message(socket_.get(), vu::make_u64_reply(message, outcome.ok() ? 0 : 1));
}

Error BackendServer::malformed(const Error& error) {
  fatal_ = true;
  return error;
}

Result<BackendServer::Vring*> BackendServer::vring_at(const vu::Message& message, uint64_t index) {
  if (index >= vrings_.size()) {
    return Error(named(message) + ": queue " + std::to_string(index) + " does not exist (the device has " +
                 std::to_string(vrings_.size()) + ")");
  }
  return &vrings_[index];
}

Status BackendServer::set_features(const vu::Message& message) {
  auto value = vu::parse_u64(message);
  if (!value.ok()) return malformed(value.error());
  if ((*value & ~offered_features_) != 0) {
    return Error(named(message) + ": feature bits " + hex(*value & ~offered_features_) +
                 " were never offered");
  }
  acked_features_ = *value;
  features_set_ = true;
  device_.set_features(acked_features_);
  return ok_status();
}

Status BackendServer::set_protocol_features(const vu::Message& message) {
  auto value = vu::parse_u64(message);
  if (!value.ok()) return malformed(value.error());
  if ((*value & ~kOfferedProtocolFeatures) != 0) {
    return Error(named(message) + ": protocol feature bits " + hex(*value & ~kOfferedProtocolFeatures) +
                 " were never offered");
  }
  acked_protocol_features_ = *value;
  return ok_status();
}

Status BackendServer::set_mem_table(const vu::Message& message) {
  auto regions = vu::parse_memory_table(message);
  if (!regions.ok()) return malformed(regions.error());
  std::vector<int> fds;
  for (const UniqueFd& fd : message.fds) fds.push_back(fd.get());
  auto mapped = virtio::MappedGuestMemory::map(*regions, fds);
  if (!mapped.ok()) return mapped.error().wrap(named(message));
  // Running queues point into the old mappings: stop them, swap, start them again.
  for (uint16_t i = 0; i < vrings_.size(); ++i) stop(i);
  memory_.reset();
  memory_.emplace(std::move(*mapped));
  for (uint16_t i = 0; i < vrings_.size(); ++i) BULWARK_TRY(refresh(i));
  return ok_status();
}

Status BackendServer::set_vring_num(const vu::Message& message) {
  auto state = vu::parse_vring_state(message);
  if (!state.ok()) return malformed(state.error());
  auto vring = vring_at(message, state->index);
  if (!vring.ok()) return vring.error();
  const uint32_t size = state->num;
  if (size == 0 || size > device_.max_queue_size() || (size & (size - 1)) != 0) {
    return Error(named(message) + ": queue size " + std::to_string(size) +
                 " is not a power of two up to " + std::to_string(device_.max_queue_size()));
  }
  if ((*vring)->queue) return Error(named(message) + ": queue " + std::to_string(state->index) + " is running");
  (*vring)->size = static_cast<uint16_t>(size);
  (*vring)->failed = false;
  return ok_status();
}

Status BackendServer::set_vring_addr(const vu::Message& message) {
  auto address = vu::parse_vring_address(message);
  if (!address.ok()) return malformed(address.error());
  auto vring = vring_at(message, address->index);
  if (!vring.ok()) return vring.error();
  if (address->flags != 0) {
    return Error(named(message) + ": dirty-page logging was not offered");
  }
  if ((*vring)->queue) return Error(named(message) + ": queue " + std::to_string(address->index) + " is running");
  (*vring)->address = *address;
  (*vring)->failed = false;
  return refresh(static_cast<uint16_t>(address->index));
}

Status BackendServer::set_vring_base(const vu::Message& message) {
  auto state = vu::parse_vring_state(message);
  if (!state.ok()) return malformed(state.error());
  auto vring = vring_at(message, state->index);
  if (!vring.ok()) return vring.error();
  if (state->num > 0xffff) {
    return Error(named(message) + ": base " + std::to_string(state->num) + " does not fit a 16-bit index");
  }
  if ((*vring)->queue) return Error(named(message) + ": queue " + std::to_string(state->index) + " is running");
  (*vring)->base = static_cast<uint16_t>(state->num);
  (*vring)->failed = false;
  return ok_status();
}

Status BackendServer::get_vring_base(const vu::Message& message) {
  auto state = vu::parse_vring_state(message);
  if (!state.ok()) return state.error();
  auto vring = vring_at(message, state->index);
  if (!vring.ok()) return vring.error();
  const uint16_t index = static_cast<uint16_t>(state->index);
  stop(index);
  // The ring stays stopped until the frontend sends a kick fd again.
  (*vring)->kick.reset();
  vu::VringState reply_state{state->index, (*vring)->base};
  vu::Message request = vu::make_vring_state_request(vu::Request::GET_VRING_BASE, reply_state);
  return vu::send_message(socket_.get(), vu::make_reply(message, request.payload));
}

Status BackendServer::set_vring_fd(vu::Message& message) {
  auto parsed = vu::parse_vring_fd(message);
  if (!parsed.ok()) return malformed(parsed.error());
  auto vring = vring_at(message, parsed->index);
  if (!vring.ok()) return vring.error();
  UniqueFd fd;
  if (!parsed->no_fd) {
    fd = std::move(message.fds[0]);
    BULWARK_TRY(make_nonblocking(fd.get(), named(message)));
  }
  switch (static_cast<vu::Request>(message.request)) {
    case vu::Request::SET_VRING_KICK:
      stop(parsed->index);
      if (parsed->no_fd) log::warn("vhost-user: queue " + std::to_string(parsed->index) +
                                   " without a kick fd (polling) stays stopped");
      (*vring)->kick = std::move(fd);
      return refresh(parsed->index);
    case vu::Request::SET_VRING_CALL:
      (*vring)->call = std::move(fd);
      return ok_status();
    default:
      (*vring)->err = std::move(fd);
      return ok_status();
  }
}

Status BackendServer::set_vring_enable(const vu::Message& message) {
  auto state = vu::parse_vring_state(message);
  if (!state.ok()) return malformed(state.error());
  auto vring = vring_at(message, state->index);
  if (!vring.ok()) return vring.error();
  if (state->num > 1) return Error(named(message) + ": " + std::to_string(state->num) + " is neither 0 nor 1");
  (*vring)->enabled = state->num == 1;
  return refresh(static_cast<uint16_t>(state->index));
}

Status BackendServer::get_config(const vu::Message& message) {
  auto config = vu::parse_device_config(message);
  if (!config.ok()) return config.error();
  // The parser bounds offset + size by 256; bytes past the device's space read as zero.
  const std::span<const uint8_t> space = device_.config_space();
  for (uint32_t i = 0; i < config->size; ++i) {
    const uint64_t at = uint64_t{config->offset} + i;
    config->bytes[i] = at < space.size() ? space[at] : 0;
  }
  vu::Message encoded = vu::make_config_request(vu::Request::GET_CONFIG, *config);
  return vu::send_message(socket_.get(), vu::make_reply(message, encoded.payload));
}

Status BackendServer::set_config(const vu::Message& message) {
  auto config = vu::parse_device_config(message);
  if (!config.ok()) return malformed(config.error());
  Status written = device_.write_config(config->offset, config->bytes);
  if (!written.ok()) return written.error().wrap(named(message));
  return ok_status();
}

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
  vring.queue.emplace(std::move(*queue));
  // Buffers offered before the ring started would otherwise wait for the next kick.
  serve_kick(index);
  return ok_status();
}

void BackendServer::reset() {
  for (uint16_t i = 0; i < vrings_.size(); ++i) stop(i);
  vrings_ = std::vector<Vring>(device_.num_queues());
  memory_.reset();
  acked_features_ = 0;
  features_set_ = false;
}

void BackendServer::stop(uint16_t index) {
  Vring& vring = vrings_[index];
  if (!vring.queue) return;
  if (epoll_.valid()) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, vring.kick.get(), nullptr);
  vring.base = vring.queue->next_avail();
  vring.queue.reset();
}

void BackendServer::serve_kick(uint16_t index) {
  if (index >= vrings_.size()) return;
  Vring& vring = vrings_[index];
  if (!vring.queue) return;
  drain_eventfd(vring.kick.get());
  Status processed = device_.process_queue(index, *vring.queue);
  // What the device completed before any error still reaches the guest.
  if (vring.queue->should_notify()) signal_eventfd(vring.call.get());
  if (!processed.ok()) fail_queue(index, processed.error());
}

void BackendServer::fail_queue(uint16_t index, const Error& why) {
  Vring& vring = vrings_[index];
  stop(index);
  vring.failed = true;
  log::error("queue " + std::to_string(index) + " stopped, the guest broke it: " + why.message());
  signal_eventfd(vring.err.get());
}

}  // namespace bulwark::backend
