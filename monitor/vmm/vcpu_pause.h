// Pausing a running VM (the launcher's SetVmState on the control channel): every vCPU thread
// is parked outside KVM_RUN, on a condition variable, until resume(). The control side asks;
// each vCPU thread checks before every KVM_RUN and acknowledges by parking.
//
// Threads: pause()/resume() from one control thread (the monitor's main loop);
// park_if_requested()/thread_exited() from the vCPU threads; release_for_stop() from any.
//
// Guest time: while paused the host TSC keeps counting, and the guest's TSC (host TSC + KVM's
// offset) with it. So the guest does not see the paused time as time that passed (a clock
// jump, soft-lockup or RCU-stall warnings), pause() notes the host TSC once every vCPU is
// parked and resume() adds the cycles since to one VM-wide total; each vCPU thread, leaving
// its park, takes what it has not applied yet and moves its TSC offset back by that much
// (KVM_VCPU_TSC_OFFSET through KVM_SET_DEVICE_ATTR) before its next KVM_RUN. Every vCPU gets
// the same value, so their TSCs stay in step. Host cycles equal guest cycles because the
// monitor never scales the guest's TSC (no KVM_SET_TSC_KHZ). A kernel without the attribute
// (before 5.16), or a KVM that accepts the write and ignores it (PVM, kvm_pvm: its guests read
// the host's TSC; kvm::Vcpu::rewind_tsc reads the offset back to notice): logged once per VM,
// and the guest's TSC jumps as before.
// kvm-clock (KVM_GET_CLOCK at pause, KVM_SET_CLOCK at resume on the VM fd) is not adjusted:
// on emulated hosts the monitor boots Linux with no-kvmclock; elsewhere a guest on kvm-clock
// still sees the paused time pass on that clock.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "bulwark/common/result.h"

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

  // The host's TSC (rdtsc); the unit tests pass their own.
  using TscSource = std::function<uint64_t()>;
  // Moves one vCPU's TSC back by `cycles` (kvm::Vcpu::rewind_tsc).
  using RewindTsc = std::function<Status(uint64_t cycles)>;

  // `kick` forces every vCPU out of KVM_RUN (immediate_exit + the kick signal).
  VcpuPause(size_t vcpu_count, std::function<void()> kick,
            std::chrono::milliseconds timeout = kDefaultTimeout, TscSource host_tsc = {});

  // ---- control side ----
  // Returns once every vCPU thread is parked (or has exited), or after the timeout.
  PauseOutcome pause();
  PauseOutcome resume();
  bool paused() const;
  // The VM is stopping: parked threads return and nothing parks again.
  void release_for_stop();

  // ---- vCPU side ----
  // Cheap when no pause is asked for (one atomic load); else parks until resumed or stopped.
  // Returns the paused host TSC cycles this vCPU had not yet taken back, after handing them to
  // `rewind` (if given; a failure is logged once per VM and otherwise ignored).
  uint64_t park_if_requested(size_t index, const RewindTsc& rewind = {});
  // A vCPU thread that ends counts as parked, so a pause never waits for it.
  void thread_exited(size_t index);

 private:
  enum class ThreadState : uint8_t { kRunning, kParked, kExited };
  bool all_parked_locked() const { return parked_or_exited_ == states_.size(); }

  std::function<void()> kick_;
  const std::chrono::milliseconds timeout_;
  TscSource host_tsc_;
  std::atomic<bool> requested_{false};  // the vCPU threads' fast path
  mutable std::mutex mutex_;
  std::condition_variable parked_cv_;   // a thread parked or exited
  std::condition_variable resume_cv_;   // the request was withdrawn or the VM stops
  std::vector<ThreadState> states_;
  size_t parked_or_exited_ = 0;
  bool paused_ = false;    // pause() succeeded and no resume() since
  bool stopping_ = false;
  uint64_t paused_at_tsc_ = 0;       // host TSC when the current pause took hold
  uint64_t paused_cycles_total_ = 0; // host TSC cycles of every pause so far, ended by resume()
  std::vector<uint64_t> applied_;    // per vCPU: how much of the total it has taken back
  std::atomic<bool> rewind_failure_logged_{false};
};

}  // namespace bulwark::vmm
