#include "monitor/vhost_user/reply_channel.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>

#include "devices/vhost_user/channel.h"

namespace bulwark::vhost_user {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kHeaderBytes = 12;

std::string name_of(uint32_t request) {
  return std::string(request_name(request)) + " (" + std::to_string(request) + ")";
}

// Bytes queued on the socket, without reading them.
Result<size_t> queued_bytes(int fd) {
  int queued = 0;
  if (::ioctl(fd, FIONREAD, &queued) != 0) return Error::from_errno("FIONREAD", errno);
  return static_cast<size_t>(queued < 0 ? 0 : queued);
}

// The payload size announced by the queued header; nullopt while fewer than 12 bytes can be
// peeked. No control buffer: fds attached to the message are not installed by the peek.
std::optional<uint32_t> peek_payload_size(int fd) {
  uint8_t header[kHeaderBytes];
  iovec iov{header, sizeof header};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  const ssize_t n = ::recvmsg(fd, &msg, MSG_PEEK | MSG_DONTWAIT);
  if (n != static_cast<ssize_t>(kHeaderBytes)) return std::nullopt;
  uint32_t size = 0;
  std::memcpy(&size, header + 8, sizeof size);
  return size;
}

}  // namespace

Status ReplyChannel::prepare_socket() const {
  if (transport_ != nullptr) return ok_status();
  int type = 0;
  socklen_t length = sizeof type;
  if (::getsockopt(fd_, SOL_SOCKET, SO_TYPE, &type, &length) != 0) {
    return Error::from_errno("not a socket", errno);
  }
  if (type != SOCK_STREAM) return Error("not a stream socket");
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout_);
  timeval limit{};
  limit.tv_sec = seconds.count();
  limit.tv_usec = std::chrono::duration_cast<std::chrono::microseconds>(timeout_ - seconds).count();
  if (::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit) != 0) {
    return Error::from_errno("setsockopt SO_SNDTIMEO", errno);
  }
  return ok_status();
}

Status ReplyChannel::wait_for_message() const {
  if (before_wait_) before_wait_();
  const auto deadline = Clock::now() + timeout_;
  for (;;) {
    auto queued = queued_bytes(fd_);
    if (!queued.ok()) return queued.error();
    std::optional<uint32_t> payload;
    if (*queued >= kHeaderBytes) payload = peek_payload_size(fd_);
    // An oversized payload is refused by receive_message as soon as it reads the header.
    if (payload && (*payload > kMaxPayload || *queued >= kHeaderBytes + *payload)) {
      return ok_status();
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      return Error("no complete reply within " + std::to_string(timeout_.count()) + " ms");
    }
    pollfd pfd{fd_, POLLIN | POLLRDHUP, 0};
    // With part of a message queued poll() returns at once; sleep a little instead of spinning.
    const int ready = *queued == 0 ? ::poll(&pfd, 1, static_cast<int>(left.count()))
                                   : ::poll(nullptr, 0, 1);
    if (ready < 0 && errno != EINTR) return Error::from_errno("poll", errno);
    if (ready > 0 && (pfd.revents & (POLLHUP | POLLRDHUP | POLLERR))) {
      auto now_queued = queued_bytes(fd_);
      if (!now_queued.ok()) return now_queued.error();
      if (*now_queued == *queued) {
        return Error(*queued == 0 ? "the backend closed the connection"
                                  : "the backend closed the connection in the middle of a reply");
      }
    }
  }
}

Result<Message> ReplyChannel::receive_reply() const {
  if (transport_ != nullptr) {
    if (before_wait_) before_wait_();
    return transport_->receive();
  }
  BULWARK_TRY(wait_for_message());
  return receive_message(fd_);
}

Status ReplyChannel::send(const Message& request) const {
  Status s = transport_ != nullptr ? transport_->send(request) : send_message(fd_, request);
  if (!s.ok()) return s.error().wrap(name_of(request.request));
  return ok_status();
}

Result<Message> ReplyChannel::call(Message request, size_t fds) const {
  BULWARK_TRY(send(request));
  // Built only for an error: a session makes many calls.
  const uint32_t code = request.request;
  auto what = [code] { return "reply to " + name_of(code); };
  Result<Message> reply = receive_reply();
  if (!reply.ok()) return reply.error().wrap(what());
  if (reply->request != code) {
    return Error(what() + ": got a message for " + name_of(reply->request));
  }
  if ((reply->flags & kReplyFlag) == 0) return Error(what() + ": the reply flag is not set");
  if ((reply->flags & kVersionMask) != kVersion1) {
    return Error(what() + ": protocol version " + std::to_string(reply->flags & kVersionMask) + ", not 1");
  }
  if (reply->fds.size() != fds) {
    return Error(what() + ": carries " + std::to_string(reply->fds.size()) + " file descriptors, expected " +
                 std::to_string(fds));
  }
  return reply;
}

Status ReplyChannel::call_acked(Message request) const {
  const uint32_t code = request.request;
  request.flags |= kNeedReplyFlag;
  Result<Message> reply = call(std::move(request));
  if (!reply.ok()) return reply.error();
  Result<uint64_t> status = parse_u64(*reply);
  if (!status.ok()) return status.error().wrap("reply to " + name_of(code));
  if (*status != 0) {
    return Error("the backend refused " + name_of(code) + " (status " +
                 std::to_string(*status) + ")");
  }
  return ok_status();
}

}  // namespace bulwark::vhost_user
