#include "jailer/api/device_control.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>

namespace bulwark::jail {

namespace {

Error give_up(int& fd, const std::string& why) {
  fd = -1;
  return Error("the device's control channel " + why + "; it is given up");
}

}  // namespace

Result<devctl::ControlReply> device_control_request(int& fd, const devctl::ControlCommand& command,
                                                    std::chrono::milliseconds timeout) {
  if (fd < 0) return Error("the device has no control channel");
  const devctl::Message out = devctl::encode_command(command);
  if (::send(fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT) != static_cast<ssize_t>(out.size())) {
    return give_up(fd, "is closed (errno " + std::to_string(errno) + ")");
  }
  // A stream socket: the answer may in principle come in pieces; all of it by the deadline.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  devctl::Message answer{};
  size_t have = 0;
  while (have < answer.size()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    const int ready = left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return give_up(fd, "did not answer within " + std::to_string(timeout.count()) + " ms");
    const ssize_t n = ::recv(fd, answer.data() + have, answer.size() - have, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) return give_up(fd, "closed");
    have += static_cast<size_t>(n);
  }
  auto reply = devctl::decode_reply(answer, command.op);
  if (!reply.ok()) return give_up(fd, "answered garbage (" + reply.error().message() + ")");
  return *reply;
}

}  // namespace bulwark::jail
