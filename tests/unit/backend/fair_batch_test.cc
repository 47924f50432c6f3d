// The backend serves each queue in bounded batches (BackendServer::kChainsPerTurn): one turn
// of at most that many chains per queue, then the socket and the other queues, then back to
// the queue for the rest without waiting for another kick (its eventfd was already drained).
// A BackendServer in a thread with a small batch and a recording device; the test is the
// frontend and the guest (ring_harness).
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "devices/backend/backend_server.h"
#include "tests/unit/backend/ring_harness.h"

namespace bulwark::backend {
namespace {

namespace vu = vhost_user;
using test::RingHarness;

constexpr uint64_t kVersion1 = 1ull << 32;
constexpr uint32_t kBatch = 2;

// Fills each chain's reply with 0x5a and records every turn (queue, budget, chains served).
// With `endless` set, queue 0 claims a full batch every turn: a queue the guest keeps full.
class RecordingDevice : public VirtioDevice {
 public:
  struct Turn {
    uint16_t queue;
    uint32_t budget;
    uint32_t served;
  };
  uint32_t device_type() const override { return 0x7e; }
  uint64_t device_features() const override { return 0; }
  uint16_t num_queues() const override { return 2; }
  uint16_t max_queue_size() const override { return 256; }
  std::span<const uint8_t> config_space() const override { return {}; }
  Result<uint32_t> process_queue(uint16_t index, virtio::SplitQueue& queue, uint32_t budget) override {
    uint32_t served = 0;
    for (; served < budget; ++served) {
      auto chain = queue.pop();
      if (!chain.ok()) return chain.error();
      if (!chain->has_value()) break;
      for (auto part : (*chain)->writable) std::fill(part.begin(), part.end(), uint8_t{0x5a});
      BULWARK_TRY(queue.push_used((*chain)->head, static_cast<uint32_t>((*chain)->writable_bytes)));
    }
    std::lock_guard<std::mutex> lock(mutex_);
    turns_.push_back({index, budget, served});
    return index == 0 && endless ? budget : served;
  }
  std::vector<Turn> turns() {
    std::lock_guard<std::mutex> lock(mutex_);
    return turns_;
  }
  size_t turns_of(uint16_t queue) {
    size_t n = 0;
    for (const Turn& t : turns()) n += t.queue == queue ? 1 : 0;
    return n;
  }
  std::atomic<bool> endless{false};

 private:
  std::mutex mutex_;
  std::vector<Turn> turns_;
};

class FairBatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    server_ = std::make_unique<BackendServer>(UniqueFd(pair[1]), device_, kBatch);
    outcome_ = std::async(std::launch::async, [this] { return server_->run(); });
    auto harness = RingHarness::create(UniqueFd(pair[0]));
    ASSERT_TRUE(harness.ok()) << harness.error().message();
    harness_ = std::make_unique<RingHarness>(std::move(*harness));
    ASSERT_TRUE(harness_->get_u64(vu::Request::GET_FEATURES).ok());
    ASSERT_TRUE(harness_->send(vu::make_request(vu::Request::SET_OWNER)).ok());
    ASSERT_TRUE(harness_->send(vu::make_u64_request(vu::Request::SET_FEATURES, kVersion1)).ok());
    ASSERT_TRUE(harness_->share_memory().ok());
  }
  void TearDown() override {
    device_.endless = false;
    harness_.reset();
    if (outcome_.valid()) (void)outcome_.wait_for(std::chrono::seconds(5));
  }
  // Waits (bounded) until queue `q`'s used index reaches `want`.
  bool used_reaches(uint16_t q, uint16_t want) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      if (harness_->used_index(q) == want) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return false;
  }
  void offer(uint16_t q, uint16_t n) {
    const uint8_t request[4] = {1, 2, 3, 4};
    harness_->offer(q, RingHarness::kBuffers + 0x1000ull * q + 0x100ull * n, request, 8);
  }

  RecordingDevice device_;
  std::unique_ptr<BackendServer> server_;
  std::future<Status> outcome_;
  std::unique_ptr<RingHarness> harness_;
};

TEST_F(FairBatchTest, OneKickForMoreThanABatchIsServedInBoundedTurnsToTheEnd) {
  ASSERT_TRUE(harness_->set_up_ring(0).ok());
  ASSERT_TRUE(harness_->set_kick(0).ok());
  // A round trip: the ring's first (empty) turn is over before anything is offered.
  ASSERT_TRUE(harness_->get_u64(vu::Request::GET_QUEUE_NUM).ok());
  // Four chains (the whole 8-entry ring) and a single kick: two batches of two.
  for (uint16_t n = 0; n < 4; ++n) offer(0, n);
  harness_->kick(0);
  ASSERT_TRUE(used_reaches(0, 4)) << "the backend did not come back for the rest without a new kick; used "
                                  << harness_->used_index(0);
  size_t full_turns = 0;
  for (const auto& turn : device_.turns()) {
    EXPECT_EQ(turn.budget, kBatch);
    EXPECT_LE(turn.served, kBatch);
    if (turn.served == kBatch) ++full_turns;
  }
  EXPECT_GE(full_turns, 2u) << "four chains need at least two turns of two";
  EXPECT_EQ(harness_->used_element(0, 3).length, 8u);
}

TEST_F(FairBatchTest, AQueueThatNeverEmptiesStarvesNeitherTheSocketNorTheOtherQueue) {
  ASSERT_TRUE(harness_->set_up_ring(0).ok());
  ASSERT_TRUE(harness_->set_up_ring(1).ok());
  ASSERT_TRUE(harness_->set_kick(0).ok());
  ASSERT_TRUE(harness_->set_kick(1).ok());
  device_.endless = true;  // queue 0 now always has work, as under a guest that refills it
  harness_->kick(0);

  // The socket still gets its turns: a request is answered (5 s bound in the harness).
  auto queues = harness_->get_u64(vu::Request::GET_QUEUE_NUM);
  ASSERT_TRUE(queues.ok()) << queues.error().message();
  EXPECT_EQ(*queues, 2u);
  // So does the other queue.
  offer(1, 0);
  harness_->kick(1);
  ASSERT_TRUE(harness_->called(1)) << "queue 1 was starved by queue 0";
  EXPECT_EQ(harness_->used_index(1), 1);
  EXPECT_GT(device_.turns_of(0), 2u) << "queue 0 was not served again and again";

  // GET_VRING_BASE (the monitor's reset) is answered and stops the busy queue.
  auto base = harness_->call(vu::make_vring_state_request(vu::Request::GET_VRING_BASE, {0, 0}));
  ASSERT_TRUE(base.ok()) << base.error().message();
  const size_t after_stop = device_.turns_of(0);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(device_.turns_of(0), after_stop) << "a stopped queue was served";
}

}  // namespace
}  // namespace bulwark::backend
