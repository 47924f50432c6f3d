// A rate-limited device's wake-up: a timerfd armed for when a throttled queue has its tokens
// back (back-pressure: the device stops taking requests instead of dropping them). Created at
// start-up, before the device's seccomp policy; only timerfd_settime and read run after.
#pragma once

#include <chrono>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"

namespace bulwark::backend {

class ThrottleTimer {
 public:
  static Result<ThrottleTimer> create();
  int fd() const { return fd_.get(); }
  // Fires once after `wait` (at least a microsecond: zero would disarm it). Logged on failure.
  void arm(std::chrono::nanoseconds wait);
  // Reads the expiration count so the fd is no longer ready.
  void clear();

 private:
  explicit ThrottleTimer(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace bulwark::backend
