#include "devices/backend/eventfd_io.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>

namespace bulwark::backend::detail {

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
  // EAGAIN: the counter is saturated; the peer sees a pending event anyway.
  [[maybe_unused]] ssize_t n = ::write(fd, &one, sizeof one);
}

void drain_eventfd(int fd) {
  uint64_t count = 0;
  [[maybe_unused]] ssize_t n = ::read(fd, &count, sizeof count);
}

}  // namespace bulwark::backend::detail
