#include "devices/backend/throttle_timer.h"

#include <errno.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "bulwark/common/log.h"

namespace bulwark::backend {

Result<ThrottleTimer> ThrottleTimer::create() {
  UniqueFd fd(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
  if (!fd.valid()) return Error::from_errno("timerfd_create", errno);
  return ThrottleTimer(std::move(fd));
}

void ThrottleTimer::arm(std::chrono::nanoseconds wait) {
  const auto ns = std::max<int64_t>(wait.count(), 1000);
  itimerspec spec{};
  spec.it_value.tv_sec = ns / 1000000000;
  spec.it_value.tv_nsec = ns % 1000000000;
  if (::timerfd_settime(fd_.get(), 0, &spec, nullptr) != 0) {
    log::error("timerfd_settime: " + std::string(std::strerror(errno)));
  }
}

void ThrottleTimer::clear() {
  uint64_t expirations = 0;
  [[maybe_unused]] ssize_t n = ::read(fd_.get(), &expirations, sizeof expirations);
}

}  // namespace bulwark::backend
