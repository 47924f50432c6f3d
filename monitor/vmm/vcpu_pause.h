// Pausing a running VM (the launcher's SetVmState on the control channel): every vCPU thread
// is parked outside KVM_RUN, on a condition variable, until resume(). The control side asks;
// each vCPU thread checks before every KVM_RUN and acknowledges by parking.
//
// Threads: pause()/resume() from one control thread (the monitor's main loop);
// park_if_requested()/thread_exited() from the vCPU threads; release_for_stop() from any.
//
// Guest time: while paused the host TSC keeps counting, so on resume the guest's TSC (host TSC
// + KVM's offset) has jumped by the paused time. Keeping it still would mean adding the paused
// cycles back to every vCPU's offset before it runs again (KVM_VCPU_TSC_OFFSET through
// KVM_SET_DEVICE_ATTR on each vCPU fd, the same value on all so they stay in sync) and, with
// kvm-clock on, KVM_GET_CLOCK at pause / KVM_SET_CLOCK at resume on the VM fd (plus
// KVM_KVMCLOCK_CTRL, which tells the guest it was stopped). Not done yet: the guest sees the
// paused time as time that passed, and after a long pause its soft-lockup or RCU-stall
// detectors may log a warning.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

namespace bulwark::vmm {

enum class PauseOutcome {
  kDone,            // the VM is now paused (pause) or running (resume)
  kAlreadyInState,  // pause while paused, resume while running: nothing changed
  kTimedOut,        // some vCPU did not park in time; the request was withdrawn, the VM runs
  kStopping,        // the VM is stopping; nothing changed
};

class VcpuPause {
 public:
  static constexpr std::chrono::milliseconds kDefaultTimeout{1000};
  // How often pause() kicks the vCPUs that have not parked yet: a kick can land just before a
  // vCPU clears immediate_exit and be lost, so one kick is not enough.
  static constexpr std::chrono::milliseconds kKickInterval{10};

  // `kick` forces every vCPU out of KVM_RUN (immediate_exit + the kick signal).
  VcpuPause(size_t vcpu_count, std::function<void()> kick,
            std::chrono::milliseconds timeout = kDefaultTimeout);

  // ---- control side ----
  // Returns once every vCPU thread is parked (or has exited), or after the timeout.
  PauseOutcome pause();
  PauseOutcome resume();
  bool paused() const;
  // The VM is stopping: parked threads return and nothing parks again.
  void release_for_stop();

  // ---- vCPU side ----
  // Cheap when no pause is asked for (one atomic load); else parks until resumed or stopped.
  void park_if_requested(size_t index);
  // A vCPU thread that ends counts as parked, so a pause never waits for it.
  void thread_exited(size_t index);

 private:
  enum class ThreadState : uint8_t { kRunning, kParked, kExited };
  bool all_parked_locked() const { return parked_or_exited_ == states_.size(); }

  std::function<void()> kick_;
  const std::chrono::milliseconds timeout_;
  std::atomic<bool> requested_{false};  // the vCPU threads' fast path
  mutable std::mutex mutex_;
  std::condition_variable parked_cv_;   // a thread parked or exited
  std::condition_variable resume_cv_;   // the request was withdrawn or the VM stops
  std::vector<ThreadState> states_;
  size_t parked_or_exited_ = 0;
  bool paused_ = false;    // pause() succeeded and no resume() since
  bool stopping_ = false;
};

}  // namespace bulwark::vmm
