// How a running VM ends: the first stop request wins (its exit code and message), and every
// vCPU thread and the main loop are woken so the VM stops promptly.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>

#include "bulwark/common/unique_fd.h"

namespace bulwark::vmm {

class VmStop {
 public:
  VmStop();
  // Records the reason if none is recorded yet, then wakes everything. Safe from any thread.
  void request(int exit_code, std::string message);
  bool requested() const { return requested_.load(std::memory_order_acquire); }
  int exit_code() const;
  std::string message() const;
  // Readable by poll() once a stop is requested.
  int wake_fd() const { return wake_fd_.get(); }
  // Called once per request to kick vCPUs out of KVM_RUN (set by the VM runner).
  void set_kick(std::function<void()> kick) { kick_ = std::move(kick); }

 private:
  std::atomic<bool> requested_{false};
  mutable std::mutex mutex_;
  int exit_code_ = 0;
  std::string message_;
  UniqueFd wake_fd_;
  std::function<void()> kick_;
};

}  // namespace bulwark::vmm
