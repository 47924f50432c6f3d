// A BackendServer that polls its rings (set_poll_max) serves a chain the guest posts without
// a kick while its poll window is open; one that does not poll waits for the kick; and a
// device that leaves chains on the ring (throttled) is not spun on by polling.
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>

#include "devices/backend/backend_server.h"
#include "tests/unit/backend/ring_harness.h"

namespace bulwark::backend {
namespace {

namespace vu = vhost_user;
using namespace std::chrono_literals;
using test::RingHarness;

constexpr uint64_t kVersion1 = 1ull << 32;

// Answers each chain with 0x5a; with `decline` set it takes nothing (a throttled device) and
// counts its turns.
class EchoDevice : public VirtioDevice {
 public:
  uint32_t device_type() const override { return 0x7e; }
  uint64_t device_features() const override { return 0; }
  uint16_t num_queues() const override { return 1; }
  uint16_t max_queue_size() const override { return 256; }
  std::span<const uint8_t> config_space() const override { return {}; }
  Result<uint32_t> process_queue(uint16_t, virtio::SplitQueue& queue, uint32_t budget) override {
    ++turns;
    uint32_t served = 0;
    for (; served < budget; ++served) {
      // Looked at before each chain: a turn under way when the test sets it takes no more.
      if (decline) break;
      auto chain = queue.pop();
      if (!chain.ok()) return chain.error();
      if (!chain->has_value()) break;
      for (auto part : (*chain)->writable) std::fill(part.begin(), part.end(), uint8_t{0x5a});
      BULWARK_TRY(queue.push_used((*chain)->head, static_cast<uint32_t>((*chain)->writable_bytes)));
    }
    return served;
  }
  std::atomic<bool> decline{false};
  std::atomic<uint64_t> turns{0};
};

class RingPollingTest : public ::testing::Test {
 protected:
  void start(std::chrono::nanoseconds poll_max) {
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    server_ = std::make_unique<BackendServer>(UniqueFd(pair[1]), device_);
    server_->set_poll_max(poll_max);
    outcome_ = std::async(std::launch::async, [this] { return server_->run(); });
    auto harness = RingHarness::create(UniqueFd(pair[0]));
    ASSERT_TRUE(harness.ok()) << harness.error().message();
    harness_ = std::make_unique<RingHarness>(std::move(*harness));
    ASSERT_TRUE(harness_->get_u64(vu::Request::GET_FEATURES).ok());
    ASSERT_TRUE(harness_->send(vu::make_request(vu::Request::SET_OWNER)).ok());
    ASSERT_TRUE(harness_->send(vu::make_u64_request(vu::Request::SET_FEATURES, kVersion1)).ok());
    ASSERT_TRUE(harness_->share_memory().ok());
    ASSERT_TRUE(harness_->set_up_ring(0).ok());
    ASSERT_TRUE(harness_->set_kick(0).ok());
    // A round trip: the ring's first (empty) turn is over before anything is offered.
    ASSERT_TRUE(harness_->get_u64(vu::Request::GET_QUEUE_NUM).ok());
  }
  void TearDown() override {
    harness_.reset();
    if (outcome_.valid()) (void)outcome_.wait_for(5s);
  }
  void offer() {
    const uint8_t request[4] = {1, 2, 3, 4};
    harness_->offer(0, RingHarness::kBuffers + 0x100ull * (offered_++ % 4), request, 8);
  }
  bool used_reaches(uint16_t want, std::chrono::milliseconds within) {
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < deadline) {
      if (harness_->used_index(0) == want) return true;
      std::this_thread::yield();
    }
    return harness_->used_index(0) == want;
  }
  // Kicked requests, each `gap` after the last completed: idle spells of about `gap`, which
  // open the poll window to at least that (it doubles from 4 us per spell).
  void warm_up(int requests, std::chrono::milliseconds gap) {
    for (int i = 0; i < requests; ++i) {
      std::this_thread::sleep_for(gap);
      offer();
      harness_->kick(0);
      ASSERT_TRUE(used_reaches(static_cast<uint16_t>(offered_), 5s)) << "kicked request " << i;
      (void)harness_->called(0, 0ms);
    }
  }

  EchoDevice device_;
  std::unique_ptr<BackendServer> server_;
  std::future<Status> outcome_;
  std::unique_ptr<RingHarness> harness_;
  uint16_t offered_ = 0;
};

TEST_F(RingPollingTest, AChainPostedWhileTheServerPollsIsServedWithoutAKick) {
  start(1s);
  // 20 ms spells: after 14 of them the window is 32 ms or more.
  warm_up(16, 20ms);
  for (int i = 0; i < 5; ++i) {
    std::this_thread::sleep_for(1ms);
    offer();  // no kick
    ASSERT_TRUE(used_reaches(static_cast<uint16_t>(offered_), 1s))
        << "chain " << i << " posted without a kick was not served by polling";
    EXPECT_EQ(harness_->used_element(0, static_cast<uint16_t>(offered_ - 1)).length, 8u);
    EXPECT_EQ(*harness_->guest(RingHarness::kBuffers + 0x100ull * ((offered_ - 1) % 4) + 4), 0x5a);
  }
  // The interrupt is still signalled for each completion.
  EXPECT_TRUE(harness_->called(0, 1s));
}

TEST_F(RingPollingTest, WithoutPollingAChainWaitsForItsKick) {
  start(0ns);
  warm_up(4, 1ms);
  offer();  // no kick
  EXPECT_FALSE(used_reaches(static_cast<uint16_t>(offered_), 200ms)) << "served with no kick and no polling";
  harness_->kick(0);
  EXPECT_TRUE(used_reaches(static_cast<uint16_t>(offered_), 5s));
}

TEST_F(RingPollingTest, ALongIdleSpellClosesTheWindow) {
  start(50ms);
  warm_up(16, 5ms);  // window >= 5 ms
  // Spells far past the maximum: the window halves each time, to nothing.
  warm_up(12, 120ms);
  std::this_thread::sleep_for(2ms);
  offer();  // no kick
  EXPECT_FALSE(used_reaches(static_cast<uint16_t>(offered_), 200ms)) << "still polling after long idle spells";
  harness_->kick(0);
  EXPECT_TRUE(used_reaches(static_cast<uint16_t>(offered_), 5s));
}

TEST_F(RingPollingTest, ChainsTheDeviceLeavesOnTheRingAreNotSpunOn) {
  start(1s);
  warm_up(16, 20ms);
  device_.decline = true;  // throttled: the chain stays on the ring
  // A polling turn may be between its look at `decline` and its pop: let it end first.
  std::this_thread::sleep_for(20ms);
  offer();
  harness_->kick(0);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(harness_->used_index(0), offered_ - 1);
  EXPECT_LT(device_.turns.load(), 40u) << "polling kept handing the device a chain it had left";
  // Tokens back (the device's timer would wake the queue; here a kick does).
  device_.decline = false;
  harness_->kick(0);
  EXPECT_TRUE(used_reaches(static_cast<uint16_t>(offered_), 5s));
}

}  // namespace
}  // namespace bulwark::backend
