#include "devices/backend/backend_server.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include "bulwark/common/log.h"
#include "devices/backend/feature_bits.h"
#include "devices/backend/request_errors.h"
#include "devices/vhost_user/channel.h"

// The session: the epoll loop over the socket and the kick eventfds, dispatch of each request,
// and REPLY_ACK. The requests themselves: session_requests.cc, vring_requests.cc; starting
// and serving rings: ring_runner.cc.
namespace bulwark::backend {

namespace vu = vhost_user;
using detail::expect_empty;
using detail::named;

namespace {

constexpr uint64_t kSocketTag = 0;  // epoll tag of the socket; queue i has tag i + 1
constexpr uint64_t kDeviceTag = uint64_t{1} << 63;  // | token: a fd the device watches
constexpr uint64_t kControlTag = uint64_t{1} << 62;  // the launcher's control channel
constexpr int kEventsPerWait = 16;

}  // namespace

BackendServer::BackendServer(UniqueFd connected_socket, VirtioDevice& device, uint32_t chains_per_turn)
    : socket_(std::move(connected_socket)),
      device_(device),
      offered_features_(device.device_features() | feature_bit(kFeatureVersion1) |
                        feature_bit(kFeatureEventIdx) | feature_bit(kFeatureIndirectDesc) |
                        feature_bit(vu::kFeatureProtocolFeatures)),
      chains_per_turn_(std::max<uint32_t>(chains_per_turn, 1)),
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
  if (control_.valid()) {
    epoll_event control_event{};
    control_event.events = EPOLLIN;
    control_event.data.u64 = kControlTag;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, control_.get(), &control_event) != 0) {
      return Error::from_errno("epoll_ctl on the control channel", errno);
    }
  }
  if (Status attached = device_.attach_events(*this); !attached.ok()) {
    log::error("device: " + attached.error().message());
    return attached.error();
  }
  epoll_event events[kEventsPerWait];
  for (;;) {
    // With a queue still holding work, only look at what else is ready, do not wait.
    int timeout = any_pending() ? 0 : -1;
    if (timeout < 0 && poll_.enabled() && !paused_) {
      // Out of work: poll the rings a while before paying for a wake-up. The idle spell runs
      // from the first turn without work to the first that has some (a wake-up for a kick
      // whose chain polling already served does not end it).
      if (!idle_since_) idle_since_ = Clock::now();
      if (poll_rings(*idle_since_ + poll_.window())) {
        end_idle();
        // The kicks of what polling found are read (and the socket looked at) every few turns.
        if (++polled_turns_ < kPolledTurnsPerLook) {
          serve_pending();
          continue;
        }
        timeout = 0;
      }
    }
    polled_turns_ = 0;
    const int n = ::epoll_wait(epoll_.get(), events, kEventsPerWait, timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno("epoll_wait", errno);
    }
    for (int i = 0; i < n; ++i) {
      if ((events[i].data.u64 & kDeviceTag) != 0) {
        end_idle();
        device_.on_device_event(static_cast<uint32_t>(events[i].data.u64 & 0xffffffffu));
        continue;
      }
      if (events[i].data.u64 == kControlTag) {
        serve_control();
        continue;
      }
      if (events[i].data.u64 != kSocketTag) {
        serve_kick(static_cast<uint16_t>(events[i].data.u64 - 1));
        continue;
      }
      end_idle();
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
    if (serve_pending()) end_idle();
  }
}

bool BackendServer::serve_pending() {
  // One bounded turn per queue with work, then back to the socket and the kicks. Paused: the
  // work stays pending until Resume.
  if (paused_) return false;
  bool served = false;
  for (uint16_t index = 0; index < vrings_.size(); ++index) {
    if (vrings_[index].pending) served |= serve_batch(index) > 0;
  }
  return served;
}

void BackendServer::end_idle() {
  if (!idle_since_) return;
  poll_.record(Clock::now() - *idle_since_);
  idle_since_.reset();
}

Status BackendServer::watch(int fd, uint32_t events, uint32_t token) {
  epoll_event event{};
  event.events = events;
  event.data.u64 = kDeviceTag | token;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0) {
    return Error::from_errno("epoll_ctl on a device fd", errno);
  }
  return ok_status();
}

void BackendServer::unwatch(int fd) { ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr); }

void BackendServer::wake_queue(uint16_t index) {
  if (index < vrings_.size() && vrings_[index].queue) vrings_[index].pending = true;
}

void BackendServer::serve_control() {
  if (!control_.valid()) return;
  // One byte more than a message: a longer one is seen as such, not split into two.
  std::array<uint8_t, devctl::kMessageBytes + 1> buffer{};
  iovec in{buffer.data(), buffer.size()};
  msghdr received{};
  received.msg_iov = &in;
  received.msg_iovlen = 1;
  const ssize_t n = ::recvmsg(control_.get(), &received, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    log::warn("control channel closed; serving on without it");
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, control_.get(), nullptr);
    control_.reset();
    return;
  }
  devctl::ControlReply reply{devctl::ControlStatus::kMalformed, {}, {}};
  auto command = devctl::decode_command(std::span<const uint8_t>(buffer.data(), static_cast<size_t>(n)));
  devctl::Op answered = devctl::Op::kGetRateLimit;  // a malformed answer carries nothing either way
  if (command.ok()) {
    answered = command->op;
    reply = answered == devctl::Op::kPause || answered == devctl::Op::kResume ? set_paused(answered == devctl::Op::kPause)
                                                                               : device_.control(*command);
  } else {
    log::warn("control channel: " + command.error().message());
  }
  devctl::Message out = devctl::encode_reply(reply, answered);
  iovec out_iov{out.data(), out.size()};
  msghdr sent{};
  sent.msg_iov = &out_iov;
  sent.msg_iovlen = 1;
  if (::sendmsg(control_.get(), &sent, MSG_NOSIGNAL | MSG_DONTWAIT) != static_cast<ssize_t>(out.size())) {
    log::warn("control channel: the answer could not be sent");
  }
}

devctl::ControlReply BackendServer::set_paused(bool paused) {
  if (paused != paused_) log::info(paused ? "paused: the rings wait until Resume" : "resumed: serving the rings again");
  paused_ = paused;
  // Kicks that came while paused were drained and left their queue pending; a ring the guest
  // filled without kicking (EVENT_IDX) is looked at too.
  if (!paused) {
    for (Vring& vring : vrings_) vring.pending = vring.queue.has_value();
  }
  return {devctl::ControlStatus::kOk, {}, {}};
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
    case vu::Request::GET_INFLIGHT_FD:
      return get_inflight_fd(message);
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
    case vu::Request::SET_INFLIGHT_FD:
      outcome = set_inflight_fd(message);
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

}  // namespace bulwark::backend
