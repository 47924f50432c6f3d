#include "monitor/vmm/vcpu_pause.h"

#include <x86intrin.h>

#include <algorithm>
#include <string>

#include "bulwark/common/log.h"

namespace bulwark::vmm {

VcpuPause::VcpuPause(size_t vcpu_count, std::function<void()> kick, std::chrono::milliseconds timeout,
                     TscSource host_tsc)
    : kick_(std::move(kick)),
      timeout_(timeout),
      host_tsc_(host_tsc ? std::move(host_tsc) : TscSource([] { return static_cast<uint64_t>(__rdtsc()); })),
      states_(vcpu_count, ThreadState::kRunning),
      applied_(vcpu_count, 0) {}

PauseOutcome VcpuPause::pause() {
  using Clock = std::chrono::steady_clock;
  std::unique_lock<std::mutex> lock(mutex_);
  if (stopping_) return PauseOutcome::kStopping;
  if (requested_.load(std::memory_order_relaxed)) return PauseOutcome::kAlreadyInState;
  requested_.store(true, std::memory_order_seq_cst);
  const Clock::time_point deadline = Clock::now() + timeout_;
  auto settled = [this] { return all_parked_locked() || stopping_; };
  while (!settled()) {
    const Clock::time_point now = Clock::now();
    if (now >= deadline) break;
    // Kick without the lock: the vCPU threads need it to park.
    lock.unlock();
    if (kick_) kick_();
    lock.lock();
    const auto wait = std::min<Clock::duration>(kKickInterval, deadline - now);
    parked_cv_.wait_for(lock, wait, settled);
  }
  if (stopping_) return PauseOutcome::kStopping;  // release_for_stop withdrew the request
  if (all_parked_locked()) {
    paused_ = true;
    paused_at_tsc_ = host_tsc_();
    return PauseOutcome::kDone;
  }
  // Withdraw: the threads already parked run again, the slow one never parks for this request.
  requested_.store(false, std::memory_order_seq_cst);
  resume_cv_.notify_all();
  return PauseOutcome::kTimedOut;
}

PauseOutcome VcpuPause::resume() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopping_) return PauseOutcome::kStopping;
  if (!paused_) return PauseOutcome::kAlreadyInState;
  paused_ = false;
  const uint64_t now = host_tsc_();
  // The host TSC is monotonic; a reading behind the pause's (a broken TSC) adds nothing.
  if (now > paused_at_tsc_) paused_cycles_total_ += now - paused_at_tsc_;
  requested_.store(false, std::memory_order_seq_cst);
  resume_cv_.notify_all();
  return PauseOutcome::kDone;
}

bool VcpuPause::paused() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return paused_;
}

void VcpuPause::release_for_stop() {
  std::lock_guard<std::mutex> lock(mutex_);
  stopping_ = true;
  paused_ = false;
  requested_.store(false, std::memory_order_seq_cst);
  resume_cv_.notify_all();
  parked_cv_.notify_all();
}

uint64_t VcpuPause::park_if_requested(size_t index, const RewindTsc& rewind) {
  if (!requested_.load(std::memory_order_seq_cst)) return 0;
  std::unique_lock<std::mutex> lock(mutex_);
  if (index >= states_.size() || states_[index] != ThreadState::kRunning) return 0;
  bool parked = false;
  // requested_ and stopping_ change only under the mutex, so no wake-up is lost.
  while (requested_.load(std::memory_order_relaxed) && !stopping_) {
    if (!parked) {
      parked = true;
      states_[index] = ThreadState::kParked;
      ++parked_or_exited_;
      parked_cv_.notify_all();
    }
    resume_cv_.wait(lock);
  }
  if (!parked) return 0;
  states_[index] = ThreadState::kRunning;
  --parked_or_exited_;
  // A pause withdrawn or ended by a stop leaves the total as it was: nothing to take back. The
  // running total (not the last pause alone) also covers a thread that slept through a
  // resume and the next pause.
  const uint64_t cycles = paused_cycles_total_ - applied_[index];
  applied_[index] = paused_cycles_total_;
  lock.unlock();
  if (cycles != 0 && rewind) {
    if (Status s = rewind(cycles); !s.ok() && !rewind_failure_logged_.exchange(true)) {
      log::warn("resume: cannot move the guest's TSC back by the paused time (" + s.error().message() +
                "); the guest sees the paused time pass");
    }
  }
  return cycles;
}

void VcpuPause::thread_exited(size_t index) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (index >= states_.size() || states_[index] == ThreadState::kExited) return;
  if (states_[index] == ThreadState::kRunning) ++parked_or_exited_;  // a parked one is counted
  states_[index] = ThreadState::kExited;
  parked_cv_.notify_all();
}

}  // namespace bulwark::vmm
