#include "devices/vhost_user/channel.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <string>

#include "bulwark/common/byte_reader.h"

namespace bulwark::vhost_user {

namespace {

using Clock = std::chrono::steady_clock;

// Waits until `fd` is readable or the deadline passes (no deadline: forever).
Status wait_readable(int fd, std::optional<Clock::time_point> deadline) {
  if (!deadline) return ok_status();
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now());
    if (left.count() <= 0) return Error("vhost-user peer did not answer in time");
    pollfd readable{fd, POLLIN, 0};
    const int n = ::poll(&readable, 1, static_cast<int>(left.count()));
    if (n > 0) return ok_status();
    if (n < 0 && errno != EINTR) return Error::from_errno("poll on the vhost-user socket", errno);
  }
}

// Reads exactly `bytes.size()` bytes; the first read may carry fds.
Status read_exact(int fd, std::span<uint8_t> bytes, std::vector<UniqueFd>* fds,
                  std::optional<Clock::time_point> deadline, bool at_message_start) {
  size_t done = 0;
  while (done < bytes.size()) {
    BULWARK_TRY(wait_readable(fd, deadline));
    iovec io{bytes.data() + done, bytes.size() - done};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
    msghdr header{};
    header.msg_iov = &io;
    header.msg_iovlen = 1;
    if (fds != nullptr) {
      header.msg_control = control;
      header.msg_controllen = sizeof control;
    }
    const ssize_t n = ::recvmsg(fd, &header, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::from_errno("read from the vhost-user socket", errno);
    // Take ownership of any fds first, so an error below still closes them.
    if (fds != nullptr) {
      for (cmsghdr* c = CMSG_FIRSTHDR(&header); c != nullptr; c = CMSG_NXTHDR(&header, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
          int received = -1;
          std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
          fds->emplace_back(received);
        }
      }
      if ((header.msg_flags & MSG_CTRUNC) != 0) {
        return Error("vhost-user message carried more than 8 fds (control data truncated)");
      }
      fds = nullptr;  // fds only ride on the first bytes of a message
    }
    if (n == 0) {
      return Error(done == 0 && at_message_start ? "vhost-user connection closed"
                                                 : "vhost-user connection closed mid-message");
    }
    done += static_cast<size_t>(n);
  }
  return ok_status();
}

Result<Message> receive(int fd, std::optional<Clock::time_point> deadline) {
  uint8_t header[kHeaderSize];
  Message message;
  BULWARK_TRY(read_exact(fd, header, &message.fds, deadline, true));
  const std::span<const uint8_t> bytes(header);
  message.request = *read_le<uint32_t>(bytes, 0);
  message.flags = *read_le<uint32_t>(bytes, 4);
  const uint32_t size = *read_le<uint32_t>(bytes, 8);
  if (size > kMaxPayload) {
    return Error(std::string(request_name(message.request)) + ": payload of " + std::to_string(size) +
                 " bytes, at most 4096");
  }
  message.payload.resize(size);
  BULWARK_TRY(read_exact(fd, message.payload, nullptr, deadline, false));
  return message;
}

}  // namespace

Status send_message(int socket_fd, const Message& message) {
  if (message.payload.size() > kMaxPayload) return Error("vhost-user payload larger than 4096 bytes");
  if (message.fds.size() > kMaxFds) return Error("vhost-user message with more than 8 fds");
  std::vector<uint8_t> bytes(kHeaderSize);
  write_le<uint32_t>(bytes, 0, message.request);
  write_le<uint32_t>(bytes, 4, message.flags);
  write_le<uint32_t>(bytes, 8, static_cast<uint32_t>(message.payload.size()));
  bytes.insert(bytes.end(), message.payload.begin(), message.payload.end());

  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)] = {};
  size_t sent = 0;
  bool fds_sent = message.fds.empty();
  while (sent < bytes.size()) {
    iovec io{bytes.data() + sent, bytes.size() - sent};
    msghdr header{};
    header.msg_iov = &io;
    header.msg_iovlen = 1;
    if (!fds_sent) {
      header.msg_control = control;
      header.msg_controllen = CMSG_SPACE(sizeof(int) * message.fds.size());
      cmsghdr* c = CMSG_FIRSTHDR(&header);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * message.fds.size());
      for (size_t i = 0; i < message.fds.size(); ++i) {
        const int fd = message.fds[i].get();
        std::memcpy(CMSG_DATA(c) + i * sizeof(int), &fd, sizeof(int));
      }
    }
    const ssize_t n = ::sendmsg(socket_fd, &header, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return Error::from_errno(std::string("send ") + request_name(message.request) +
                                   " on the vhost-user socket",
                               errno);
    }
    fds_sent = true;
    sent += static_cast<size_t>(n);
  }
  return ok_status();
}

Result<Message> receive_message(int socket_fd) { return receive(socket_fd, std::nullopt); }

Result<Message> receive_message_within(int socket_fd, std::chrono::milliseconds timeout) {
  return receive(socket_fd, Clock::now() + timeout);
}

}  // namespace bulwark::vhost_user
