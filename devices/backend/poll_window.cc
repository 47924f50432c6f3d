#include "devices/backend/poll_window.h"

#include <algorithm>

namespace bulwark::backend {

void PollWindow::record(std::chrono::nanoseconds idle) {
  if (!enabled()) return;
  if (idle <= window_) return;  // polling found the work: the window is right
  if (idle > max_) {
    // Polling as long as the operator allows would not have found it: poll less. Halving
    // (not QEMU's reset to 0) keeps one stray long spell from ending polling for a while.
    window_ /= 2;
    if (window_ < kFirstWindow) window_ = std::chrono::nanoseconds{0};
    return;
  }
  // The work came after the window closed but within the maximum: poll longer next time.
  window_ = window_.count() == 0 ? kFirstWindow : window_ * 2;
  window_ = std::min(window_, max_);
}

}  // namespace bulwark::backend
