#include "monitor/vmm/vm_stop.h"

#include <sys/eventfd.h>
#include <unistd.h>

namespace bulwark::vmm {

VmStop::VmStop() : wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

void VmStop::request(int exit_code, std::string message) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (requested_.load(std::memory_order_relaxed)) return;
    exit_code_ = exit_code;
    message_ = std::move(message);
    requested_.store(true, std::memory_order_release);
  }
  const uint64_t one = 1;
  if (wake_fd_.valid()) (void)!::write(wake_fd_.get(), &one, sizeof one);
  if (kick_) kick_();
}

int VmStop::exit_code() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return exit_code_;
}

std::string VmStop::message() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return message_;
}

}  // namespace bulwark::vmm
