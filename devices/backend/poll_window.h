// How long a device's event loop busy-polls its rings before it blocks in epoll_wait: QEMU's
// adaptive AioContext polling (poll-max-ns, grow, shrink). Waking a blocked process costs far
// more than a few microseconds of polling when the guest's next request comes soon (at queue
// depth 1 a request follows each completion by one round trip); polling that finds nothing
// only burns the device's CPU. The window therefore follows the idle spells the loop sees:
// it grows (x2, from 4 us) while requests arrive soon after the window closed, stays while
// polling finds them, and halves after a spell longer than the operator's maximum. The
// maximum is the operator's (`--poll-us`); 0 turns polling off. Pure: time is passed in.
#pragma once

#include <chrono>

namespace bulwark::backend {

class PollWindow {
 public:
  static constexpr std::chrono::nanoseconds kFirstWindow{4000};

  explicit PollWindow(std::chrono::nanoseconds max) : max_(max < std::chrono::nanoseconds{0} ? std::chrono::nanoseconds{0} : max) {}

  bool enabled() const { return max_.count() > 0; }
  std::chrono::nanoseconds max() const { return max_; }
  // How long to poll before blocking, this time.
  std::chrono::nanoseconds window() const { return window_; }

  // One idle spell ended: `idle` from when the loop ran out of work until work (or any event)
  // came, found by polling or after blocking.
  void record(std::chrono::nanoseconds idle);

 private:
  std::chrono::nanoseconds max_;
  std::chrono::nanoseconds window_{0};
};

}  // namespace bulwark::backend
