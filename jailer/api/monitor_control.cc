#include "jailer/api/monitor_control.h"

#include "jailer/api/replies.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace bulwark::jail {

namespace {

api::Reply fault(uint16_t status, const std::string& message) { return fault_reply(status, message); }

// One datagram: the command's bytes, with `passed_fd` as SCM_RIGHTS when it is >= 0.
ssize_t send_command(int control_fd, const std::vector<uint8_t>& bytes, int passed_fd) {
  if (passed_fd < 0) return ::send(control_fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  iovec iov{const_cast<uint8_t*>(bytes.data()), bytes.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(header), &passed_fd, sizeof(int));
  return ::sendmsg(control_fd, &message, MSG_NOSIGNAL);
}

}  // namespace

api::Reply monitor_request(int& control_fd, const api::Command& command, std::chrono::milliseconds timeout) {
  return monitor_request_with_fd(control_fd, command, -1, timeout);
}

api::Reply monitor_request_with_fd(int& control_fd, const api::Command& command, int passed_fd,
                                   std::chrono::milliseconds timeout) {
  if (control_fd < 0) {
    return fault(501, std::string(api::command_name(command)) + ": this monitor has no control channel");
  }
  const std::vector<uint8_t> bytes = api::encode_command(command);
  if (send_command(control_fd, bytes, passed_fd) < 0) {
    control_fd = -1;
    return fault(503, "the monitor's control channel is closed (errno " + std::to_string(errno) + ")");
  }
  pollfd fd{control_fd, POLLIN, 0};
  if (::poll(&fd, 1, static_cast<int>(timeout.count())) <= 0) {
    control_fd = -1;
    return fault(504, "the monitor did not answer within " + std::to_string(timeout.count()) +
                          " ms; its control channel is given up");
  }
  std::vector<uint8_t> buffer(api::kMaxMessageBytes + 1);
  const ssize_t n = ::recv(control_fd, buffer.data(), buffer.size(), MSG_TRUNC | MSG_DONTWAIT);
  if (n <= 0 || static_cast<size_t>(n) > api::kMaxMessageBytes) {
    control_fd = -1;
    return fault(503, "the monitor's control channel failed");
  }
  auto reply = api::decode_reply(std::span<const uint8_t>(buffer.data(), static_cast<size_t>(n)));
  if (!reply.ok()) {
    control_fd = -1;
    return fault(500, "the monitor's reply was refused: " + reply.error().message());
  }
  return *reply;
}

}  // namespace bulwark::jail
