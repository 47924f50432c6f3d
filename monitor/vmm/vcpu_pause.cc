#include "monitor/vmm/vcpu_pause.h"

#include <algorithm>

namespace bulwark::vmm {

VcpuPause::VcpuPause(size_t vcpu_count, std::function<void()> kick, std::chrono::milliseconds timeout)
    : kick_(std::move(kick)), timeout_(timeout), states_(vcpu_count, ThreadState::kRunning) {}

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

void VcpuPause::park_if_requested(size_t index) {
  if (!requested_.load(std::memory_order_seq_cst)) return;
  std::unique_lock<std::mutex> lock(mutex_);
  if (index >= states_.size() || states_[index] != ThreadState::kRunning) return;
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
  if (parked) {
    states_[index] = ThreadState::kRunning;
    --parked_or_exited_;
  }
}

void VcpuPause::thread_exited(size_t index) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (index >= states_.size() || states_[index] == ThreadState::kExited) return;
  if (states_[index] == ThreadState::kRunning) ++parked_or_exited_;  // a parked one is counted
  states_[index] = ThreadState::kExited;
  parked_cv_.notify_all();
}

}  // namespace bulwark::vmm
