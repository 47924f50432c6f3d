#include "monitor/tpm/swtpm_link.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

#include "monitor/tpm/crb_regs.h"
#include "monitor/tpm/swtpm_response.h"

namespace bulwark::tpm {
namespace {

using Clock = std::chrono::steady_clock;

// Waits for `events` until `end`; false when the deadline passed or the peer hung up.
Status wait_for(int fd, short events, Clock::time_point end) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
    if (left <= 0) return Error("swtpm did not answer in time");
    pollfd p{fd, events, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left) + 1);
    if (ready < 0) {
      if (errno == EINTR) continue;  // a kick: the deadline still holds
      return Error::from_errno("poll swtpm", errno);
    }
    if (ready == 0) continue;
    if (p.revents & events) return ok_status();
    return Error("swtpm closed its connection");
  }
}

}  // namespace

Result<std::vector<uint8_t>> SwtpmLink::transact(std::span<const uint8_t> command, size_t max_response) {
  if (!fd_.valid()) return Error("no connection to swtpm");
  const Clock::time_point end = Clock::now() + deadline_;
  size_t sent = 0;
  while (sent < command.size()) {
    iovec iov{const_cast<uint8_t*>(command.data() + sent), command.size() - sent};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    const ssize_t n = ::sendmsg(fd_.get(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) return Error::from_errno("send to swtpm", errno);
    BULWARK_TRY(wait_for(fd_.get(), POLLOUT, end));
  }
  std::vector<uint8_t> response(kTpmHeaderSize);
  size_t have = 0;
  bool header_checked = false;
  while (have < response.size()) {
    iovec iov{response.data() + have, response.size() - have};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    const ssize_t n = ::recvmsg(fd_.get(), &msg, MSG_DONTWAIT);
    if (n == 0) return Error("swtpm closed its connection");
    if (n < 0) {
      if (errno != EAGAIN && errno != EINTR) return Error::from_errno("receive from swtpm", errno);
      BULWARK_TRY(wait_for(fd_.get(), POLLIN, end));
      continue;
    }
    have += static_cast<size_t>(n);
    if (!header_checked && have == kTpmHeaderSize) {
      const ResponseHeaderCheck check = parse_tpm_response_header(response, max_response);
      if (!check.ok) return Error("swtpm: " + check.error);
      header_checked = true;
      response.resize(check.header.size);
    }
  }
  return response;
}

}  // namespace bulwark::tpm
