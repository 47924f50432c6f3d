// VcpuPause with plain threads standing in for vCPU loops: each "runs the guest" (a wait that
// only a kick ends, as KVM_RUN only returns when kicked) and checks the pause before each run.
#include "monitor/vmm/vcpu_pause.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

namespace bulwark::vmm {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class FakeVcpus {
 public:
  explicit FakeVcpus(size_t count, std::chrono::milliseconds timeout = VcpuPause::kDefaultTimeout,
                     VcpuPause::TscSource tsc = {})
      : slots_(count), pause_(count, [this] { kick_all(); }, timeout, std::move(tsc)) {}
  ~FakeVcpus() { stop(); }

  void start() {
    for (size_t i = 0; i < slots_.size(); ++i) threads_.emplace_back([this, i] { loop(i); });
  }
  void stop() {
    quit_ = true;
    pause_.release_for_stop();
    kick_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }
  // The next "KVM_RUN" of vCPU `i` ignores kicks for `delay` (a vCPU stuck in a long exit);
  // returns once that run has begun.
  void make_slow(size_t i, std::chrono::milliseconds delay) {
    slots_[i].slow_ms = delay.count();
    while (!slots_[i].slowed.load()) std::this_thread::yield();
  }
  // vCPU `i` ends its loop (as after a failed KVM_RUN).
  void make_exit(size_t i) { slots_[i].exit = true; kick_all(); }

  uint64_t runs(size_t i) const { return slots_[i].runs.load(); }
  // The TSC cycles vCPU `i` was told to move its TSC back by, in all.
  uint64_t rewound(size_t i) const { return slots_[i].rewound.load(); }
  bool in_guest(size_t i) const { return slots_[i].in_guest.load(); }
  uint64_t kicks() const { return kicks_.load(); }
  VcpuPause& pause() { return pause_; }
  size_t size() const { return slots_.size(); }

  // Waits until every vCPU has run at least `n` more times than `since`.
  bool all_ran(const std::vector<uint64_t>& since, uint64_t n = 2) {
    const auto deadline = Clock::now() + 5s;
    while (Clock::now() < deadline) {
      bool all = true;
      for (size_t i = 0; i < size(); ++i) all = all && runs(i) >= since[i] + n;
      if (all) return true;
      std::this_thread::sleep_for(1ms);
    }
    return false;
  }
  std::vector<uint64_t> run_counts() const {
    std::vector<uint64_t> counts;
    for (size_t i = 0; i < size(); ++i) counts.push_back(runs(i));
    return counts;
  }

 private:
  struct Slot {
    std::atomic<bool> kicked{false};
    std::atomic<bool> in_guest{false};
    std::atomic<uint64_t> runs{0};
    std::atomic<int64_t> slow_ms{0};
    std::atomic<bool> exit{false};
    std::atomic<bool> slowed{false};
    std::atomic<uint64_t> rewound{0};
  };

  void kick_all() {
    ++kicks_;
    for (auto& slot : slots_) slot.kicked = true;
  }

  void loop(size_t i) {
    Slot& slot = slots_[i];
    while (!quit_ && !slot.exit) {
      pause_.park_if_requested(i, [&slot](uint64_t cycles) {
        slot.rewound += cycles;
        return ok_status();
      });
      if (quit_) break;
      // "KVM_RUN": runs until kicked (or 2 ms: the guest exits by itself now and then).
      slot.in_guest = true;
      ++slot.runs;
      if (const int64_t slow = slot.slow_ms.exchange(0); slow > 0) {
        slot.slowed = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(slow));
        slot.slowed = false;
      }
      const auto until = Clock::now() + 2ms;
      while (!slot.kicked.exchange(false) && Clock::now() < until) std::this_thread::yield();
      slot.in_guest = false;
    }
    pause_.thread_exited(i);
  }

  std::vector<Slot> slots_;
  std::vector<std::thread> threads_;
  std::atomic<bool> quit_{false};
  std::atomic<uint64_t> kicks_{0};
  VcpuPause pause_;
};

TEST(VcpuPauseTest, PauseReturnsWithEveryThreadParkedAndNoneRunsUntilResume) {
  FakeVcpus vcpus(4);
  vcpus.start();
  ASSERT_TRUE(vcpus.all_ran(std::vector<uint64_t>(4, 0)));

  ASSERT_EQ(vcpus.pause().pause(), PauseOutcome::kDone);
  EXPECT_TRUE(vcpus.pause().paused());
  EXPECT_GT(vcpus.kicks(), 0u);
  const auto frozen = vcpus.run_counts();
  for (size_t i = 0; i < vcpus.size(); ++i) EXPECT_FALSE(vcpus.in_guest(i)) << i;
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(vcpus.run_counts(), frozen);
  for (size_t i = 0; i < vcpus.size(); ++i) EXPECT_FALSE(vcpus.in_guest(i)) << i;

  ASSERT_EQ(vcpus.pause().resume(), PauseOutcome::kDone);
  EXPECT_FALSE(vcpus.pause().paused());
  EXPECT_TRUE(vcpus.all_ran(frozen));
}

TEST(VcpuPauseTest, PauseWaitsForASlowThreadWithinTheTimeout) {
  FakeVcpus vcpus(3);
  vcpus.start();
  ASSERT_TRUE(vcpus.all_ran(std::vector<uint64_t>(3, 0)));
  vcpus.make_slow(1, 150ms);

  const auto start = Clock::now();
  ASSERT_EQ(vcpus.pause().pause(), PauseOutcome::kDone);
  EXPECT_GE(Clock::now() - start, 100ms);  // it did wait for vCPU 1
  for (size_t i = 0; i < vcpus.size(); ++i) EXPECT_FALSE(vcpus.in_guest(i)) << i;
  EXPECT_EQ(vcpus.pause().resume(), PauseOutcome::kDone);
}

TEST(VcpuPauseTest, DoublePauseAndResumeWhileRunningAreRefused) {
  FakeVcpus vcpus(2);
  vcpus.start();
  EXPECT_EQ(vcpus.pause().resume(), PauseOutcome::kAlreadyInState);
  ASSERT_EQ(vcpus.pause().pause(), PauseOutcome::kDone);
  EXPECT_EQ(vcpus.pause().pause(), PauseOutcome::kAlreadyInState);
  EXPECT_TRUE(vcpus.pause().paused());
  ASSERT_EQ(vcpus.pause().resume(), PauseOutcome::kDone);
  EXPECT_EQ(vcpus.pause().resume(), PauseOutcome::kAlreadyInState);
  // And it pauses again after a resume.
  EXPECT_EQ(vcpus.pause().pause(), PauseOutcome::kDone);
  EXPECT_EQ(vcpus.pause().resume(), PauseOutcome::kDone);
}

TEST(VcpuPauseTest, ThreadTooSlowToAckTimesOutAndTheVmKeepsRunning) {
  FakeVcpus vcpus(3, 100ms);
  vcpus.start();
  ASSERT_TRUE(vcpus.all_ran(std::vector<uint64_t>(3, 0)));
  vcpus.make_slow(2, 600ms);

  const auto start = Clock::now();
  EXPECT_EQ(vcpus.pause().pause(), PauseOutcome::kTimedOut);
  const auto took = Clock::now() - start;
  EXPECT_GE(took, 100ms);
  EXPECT_LT(took, 500ms);  // did not wait for the slow thread
  EXPECT_FALSE(vcpus.pause().paused());
  // The threads that had parked run again; nothing stays half paused.
  const auto after = vcpus.run_counts();
  EXPECT_TRUE(vcpus.all_ran({after[0], after[1], after[2]}, 1));
  // Once the slow one is back, a pause succeeds.
  EXPECT_EQ(vcpus.pause().pause(), PauseOutcome::kDone);
  EXPECT_EQ(vcpus.pause().resume(), PauseOutcome::kDone);
}

TEST(VcpuPauseTest, AnExitedThreadDoesNotHoldUpAPause) {
  FakeVcpus vcpus(2, 200ms);
  vcpus.start();
  vcpus.make_exit(0);
  const auto start = Clock::now();
  EXPECT_EQ(vcpus.pause().pause(), PauseOutcome::kDone);
  EXPECT_LT(Clock::now() - start, 150ms);
  EXPECT_EQ(vcpus.pause().resume(), PauseOutcome::kDone);
}

TEST(VcpuPauseTest, StopReleasesParkedThreadsAndRefusesFurtherPauses) {
  FakeVcpus vcpus(3);
  vcpus.start();
  ASSERT_EQ(vcpus.pause().pause(), PauseOutcome::kDone);
  vcpus.stop();  // joins: hangs (and the test times out) if a parked thread is not released
  EXPECT_FALSE(vcpus.pause().paused());
  EXPECT_EQ(vcpus.pause().pause(), PauseOutcome::kStopping);
  EXPECT_EQ(vcpus.pause().resume(), PauseOutcome::kStopping);
}

TEST(VcpuPauseTest, NoRequestCostsTheVcpuNothingButACheck) {
  // Without a pause a vCPU passes straight through, even before any control thread exists.
  VcpuPause pause(1, nullptr);
  pause.park_if_requested(0);
  pause.park_if_requested(7);  // an index out of range is ignored
  EXPECT_FALSE(pause.paused());
}

// A host TSC the test moves by hand.
class FakeTsc {
 public:
  VcpuPause::TscSource source() {
    return [this] { return now_.load(); };
  }
  void advance(uint64_t cycles) { now_ += cycles; }

 private:
  std::atomic<uint64_t> now_{1'000'000};
};

bool wait_until(const std::function<bool()>& done) {
  const auto deadline = Clock::now() + 5s;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

TEST(VcpuPauseTest, EveryVcpuMovesItsTscBackByExactlyThePausedHostCycles) {
  FakeTsc tsc;
  FakeVcpus vcpus(3, VcpuPause::kDefaultTimeout, tsc.source());
  vcpus.start();
  tsc.advance(5'000);  // running time is not taken back
  ASSERT_EQ(vcpus.pause().pause(), PauseOutcome::kDone);
  tsc.advance(123'456);  // paused
  ASSERT_EQ(vcpus.pause().resume(), PauseOutcome::kDone);
  tsc.advance(7'000);
  ASSERT_TRUE(wait_until([&] {
    for (size_t i = 0; i < vcpus.size(); ++i)
      if (vcpus.rewound(i) == 0) return false;
    return true;
  }));
  for (size_t i = 0; i < vcpus.size(); ++i) EXPECT_EQ(vcpus.rewound(i), 123'456u) << i;

  // A second pause adds only its own length, the same on every vCPU.
  ASSERT_EQ(vcpus.pause().pause(), PauseOutcome::kDone);
  tsc.advance(1'000);
  ASSERT_EQ(vcpus.pause().resume(), PauseOutcome::kDone);
  ASSERT_TRUE(wait_until([&] {
    for (size_t i = 0; i < vcpus.size(); ++i)
      if (vcpus.rewound(i) != 124'456u) return false;
    return true;
  }));
}

TEST(VcpuPauseTest, AWithdrawnPauseOrAStopTakesNoTimeBack) {
  FakeTsc tsc;
  FakeVcpus vcpus(2, 100ms, tsc.source());
  vcpus.start();
  ASSERT_TRUE(vcpus.all_ran(std::vector<uint64_t>(2, 0)));
  vcpus.make_slow(1, 400ms);
  tsc.advance(50'000);
  ASSERT_EQ(vcpus.pause().pause(), PauseOutcome::kTimedOut);  // vCPU 0 parked, then ran again
  const auto after = vcpus.run_counts();
  ASSERT_TRUE(vcpus.all_ran(after, 1));
  EXPECT_EQ(vcpus.rewound(0), 0u);

  ASSERT_EQ(vcpus.pause().pause(), PauseOutcome::kDone);
  tsc.advance(90'000);
  vcpus.stop();  // released by the stop, not resumed: the guest does not run again
  EXPECT_EQ(vcpus.rewound(0), 0u);
  EXPECT_EQ(vcpus.rewound(1), 0u);
}

TEST(VcpuPauseTest, ARewindThatFailsDoesNotStopTheVcpu) {
  // A kernel without KVM_VCPU_TSC_OFFSET: the vCPU runs on (the failure is logged once).
  FakeTsc tsc;
  VcpuPause pause(1, nullptr, 2s, tsc.source());
  std::atomic<bool> quit{false};
  std::atomic<int> failures{0};
  std::atomic<uint64_t> handed{0};
  std::thread vcpu([&] {
    while (!quit) {
      handed += pause.park_if_requested(0, [&](uint64_t) -> Status {
        ++failures;
        return Error("KVM_SET_DEVICE_ATTR (TSC offset): No such device or address");
      });
      std::this_thread::sleep_for(1ms);
    }
    pause.thread_exited(0);
  });
  for (int round = 0; round < 2; ++round) {
    ASSERT_EQ(pause.pause(), PauseOutcome::kDone);
    tsc.advance(42);
    ASSERT_EQ(pause.resume(), PauseOutcome::kDone);
    ASSERT_TRUE(wait_until([&] { return handed.load() == 42u * (round + 1); }));
  }
  EXPECT_EQ(failures.load(), 2);
  quit = true;
  vcpu.join();
  EXPECT_EQ(handed.load(), 84u);
}

}  // namespace
}  // namespace bulwark::vmm
