// A BackendServer in a thread on one end of a socketpair with an "echo" device behind it; the
// test is the frontend (real codec) and the guest (rings in a shared memfd). Covers when rings
// start and stop (kick, SET_VRING_ENABLE, GET_VRING_BASE), REPLY_ACK statuses, index
// continuity across a stop and restart, and malformed messages ending the session.
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <future>
#include <memory>
#include <string>

#include "devices/backend/backend_server.h"
#include "tests/unit/backend/ring_harness.h"

namespace bulwark::backend {
namespace {

namespace vu = vhost_user;
using test::RingHarness;

constexpr uint64_t kVersion1 = 1ull << 32;
constexpr uint64_t kEventIdx = 1ull << 29;
constexpr uint64_t kProtocolFeatures = 1ull << 30;

// Answers each chain with its readable bytes reversed.
class EchoDevice : public VirtioDevice {
 public:
  uint32_t device_type() const override { return 0x7e; }
  uint64_t device_features() const override { return 0; }
  uint16_t num_queues() const override { return 1; }
  uint16_t max_queue_size() const override { return 256; }
  std::span<const uint8_t> config_space() const override { return {}; }
  Result<uint32_t> process_queue(uint16_t, virtio::SplitQueue& queue, uint32_t budget) override {
    uint32_t served = 0;
    for (; served < budget; ++served) {
      auto chain = queue.pop();
      if (!chain.ok()) return chain.error();
      if (!chain->has_value()) break;
      std::vector<uint8_t> bytes;
      for (auto part : (*chain)->readable) bytes.insert(bytes.end(), part.begin(), part.end());
      std::reverse(bytes.begin(), bytes.end());
      uint32_t written = 0;
      for (auto part : (*chain)->writable) {
        const size_t n = std::min(part.size(), bytes.size() - written);
        std::memcpy(part.data(), bytes.data() + written, n);
        written += static_cast<uint32_t>(n);
      }
      BULWARK_TRY(queue.push_used((*chain)->head, written));
    }
    return served;
  }
};

class RingLifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    server_ = std::make_unique<BackendServer>(UniqueFd(pair[1]), device_);
    outcome_ = std::async(std::launch::async, [this] { return server_->run(); });
    auto harness = RingHarness::create(UniqueFd(pair[0]));
    ASSERT_TRUE(harness.ok()) << harness.error().message();
    harness_ = std::make_unique<RingHarness>(std::move(*harness));
  }
  void TearDown() override {
    harness_.reset();  // hangs up: run() returns
    if (outcome_.valid()) (void)outcome_.wait_for(std::chrono::seconds(5));
  }
  // What run() returned (bounded wait, so a server that never ends fails the test).
  Status outcome() {
    if (outcome_.wait_for(std::chrono::seconds(5)) != std::future_status::ready) return Error("run() did not return");
    return outcome_.get();
  }
  // The REPLY_ACK status of `request`; 99 (and a failure) if none came.
  uint64_t ack(vu::Message request) {
    const char* name = vu::request_name(request.request);
    auto status = harness_->acked(std::move(request));
    EXPECT_TRUE(status.ok()) << name << ": " << status.error().message();
    return status.ok() ? *status : 99;
  }
  // A round trip: every message sent before it has been handled.
  void sync() { ASSERT_TRUE(harness_->get_u64(vu::Request::GET_QUEUE_NUM).ok()); }
  void negotiate(uint64_t features, uint64_t protocol_features) {
    ASSERT_TRUE(harness_->get_u64(vu::Request::GET_FEATURES).ok());
    if ((features & kProtocolFeatures) != 0) {
      ASSERT_TRUE(harness_->get_u64(vu::Request::GET_PROTOCOL_FEATURES).ok());
      ASSERT_TRUE(harness_->send(vu::make_u64_request(vu::Request::SET_PROTOCOL_FEATURES, protocol_features)).ok());
    }
    ASSERT_TRUE(harness_->send(vu::make_request(vu::Request::SET_OWNER)).ok());
    ASSERT_TRUE(harness_->send(vu::make_u64_request(vu::Request::SET_FEATURES, features)).ok());
    ASSERT_TRUE(harness_->share_memory().ok());
  }
  // Offers "hello" with room for the answer at a fresh buffer; returns the answer's address.
  uint64_t offer_hello(uint16_t n) {
    const uint64_t gpa = RingHarness::kBuffers + 0x100ull * n;
    const uint8_t hello[5] = {'h', 'e', 'l', 'l', 'o'};
    harness_->offer(0, gpa, hello, 16);
    return gpa + sizeof hello;
  }
  std::string answer_at(uint64_t gpa, size_t length) {
    return std::string(reinterpret_cast<const char*>(harness_->guest(gpa)), length);
  }

  EchoDevice device_;
  std::unique_ptr<BackendServer> server_;
  std::future<Status> outcome_;
  std::unique_ptr<RingHarness> harness_;
};

TEST_F(RingLifecycleTest, WithoutProtocolFeaturesARingStartsAtItsKickFdAndServesWhatWasOffered) {
  negotiate(kVersion1 | kEventIdx, 0);
  ASSERT_TRUE(harness_->set_up_ring(0).ok());
  const uint64_t answer = offer_hello(0);  // offered before the ring starts
  sync();
  EXPECT_EQ(harness_->used_index(0), 0) << "no kick fd yet: the ring must not run";
  ASSERT_TRUE(harness_->set_kick(0).ok());
  ASSERT_TRUE(harness_->called(0));
  EXPECT_EQ(harness_->used_index(0), 1);
  EXPECT_EQ(harness_->used_element(0, 0).id, 0u);
  EXPECT_EQ(harness_->used_element(0, 0).length, 5u);
  EXPECT_EQ(answer_at(answer, 5), "olleh");
  // Later buffers arrive by kick.
  const uint64_t second = offer_hello(1);
  harness_->kick(0);
  ASSERT_TRUE(harness_->called(0));
  EXPECT_EQ(harness_->used_index(0), 2);
  EXPECT_EQ(answer_at(second, 5), "olleh");
  harness_->hang_up();
  Status done = outcome();
  EXPECT_TRUE(done.ok()) << done.error().message();
}

TEST_F(RingLifecycleTest, WithProtocolFeaturesARingWaitsForSetVringEnable) {
  negotiate(kVersion1 | kEventIdx | kProtocolFeatures, 1ull << vu::kProtocolReplyAck);
  ASSERT_TRUE(harness_->set_up_ring(0).ok());
  ASSERT_TRUE(harness_->set_kick(0).ok());
  offer_hello(0);
  harness_->kick(0);
  EXPECT_FALSE(harness_->called(0, std::chrono::milliseconds(200))) << "a disabled ring answered";
  EXPECT_EQ(harness_->used_index(0), 0);

  EXPECT_EQ(ack(vu::make_vring_state_request(vu::Request::SET_VRING_ENABLE, {0, 1})), 0u);
  ASSERT_TRUE(harness_->called(0)) << "enabling must serve what the guest already offered";
  EXPECT_EQ(harness_->used_index(0), 1);

  EXPECT_EQ(ack(vu::make_vring_state_request(vu::Request::SET_VRING_ENABLE, {0, 0})), 0u);
  offer_hello(1);
  harness_->kick(0);
  EXPECT_FALSE(harness_->called(0, std::chrono::milliseconds(200))) << "a disabled ring answered";
  EXPECT_EQ(harness_->used_index(0), 1);
}

TEST_F(RingLifecycleTest, GetVringBaseStopsTheRingAndARestartContinuesTheIndexes) {
  negotiate(kVersion1 | kEventIdx, 0);
  ASSERT_TRUE(harness_->set_up_ring(0, /*base=*/5).ok());
  ASSERT_TRUE(harness_->set_kick(0).ok());
  offer_hello(0);
  offer_hello(1);
  harness_->kick(0);
  ASSERT_TRUE(harness_->called(0));
  EXPECT_EQ(harness_->used_index(0), 7);

  auto base = harness_->call(vu::make_vring_state_request(vu::Request::GET_VRING_BASE, {0, 0}));
  ASSERT_TRUE(base.ok()) << base.error().message();
  auto state = vu::parse_vring_state(*base);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->index, 0u);
  EXPECT_EQ(state->num, 7u) << "the next available index the device would read";

  const uint64_t answer = offer_hello(2);
  harness_->kick(0);
  EXPECT_FALSE(harness_->called(0, std::chrono::milliseconds(200))) << "a stopped ring answered";

  // Restart where it stopped: the waiting buffer is served into the next used slot.
  ASSERT_TRUE(harness_->send(vu::make_vring_state_request(vu::Request::SET_VRING_BASE, {0, 7})).ok());
  ASSERT_TRUE(harness_->set_kick(0).ok());
  ASSERT_TRUE(harness_->called(0));
  EXPECT_EQ(harness_->used_index(0), 8);
  EXPECT_EQ(harness_->used_element(0, 7).id, 4u);  // the third chain's head descriptor
  EXPECT_EQ(answer_at(answer, 5), "olleh");
}

TEST_F(RingLifecycleTest, TheRingWrapsAroundItsSizeManyTimes) {
  negotiate(kVersion1 | kEventIdx, 0);
  ASSERT_TRUE(harness_->set_up_ring(0, /*base=*/0xfffa).ok());  // the 16-bit indexes wrap too
  ASSERT_TRUE(harness_->set_kick(0).ok());
  for (uint16_t n = 0; n < 3 * RingHarness::kQueueSize; ++n) {
    const uint64_t answer = offer_hello(n);
    harness_->kick(0);
    ASSERT_TRUE(harness_->called(0)) << "buffer " << n;
    EXPECT_EQ(answer_at(answer, 5), "olleh") << "buffer " << n;
  }
  EXPECT_EQ(harness_->used_index(0), static_cast<uint16_t>(0xfffa + 3 * RingHarness::kQueueSize));
}

TEST_F(RingLifecycleTest, ReplyAckAnswersZeroForDoneAndOneForRefusedAndTheSessionGoesOn) {
  negotiate(kVersion1 | kProtocolFeatures, 1ull << vu::kProtocolReplyAck);
  EXPECT_EQ(ack(vu::make_request(vu::Request::SET_OWNER)), 0u);
  EXPECT_EQ(ack(vu::make_vring_state_request(vu::Request::SET_VRING_NUM, {0, 64})), 0u);
  EXPECT_EQ(ack(vu::make_vring_state_request(vu::Request::SET_VRING_NUM, {0, 3})), 1u)
      << "not a power of two";
  EXPECT_EQ(ack(vu::make_vring_state_request(vu::Request::SET_VRING_NUM, {0, 512})), 1u)
      << "beyond the device's largest queue";
  EXPECT_EQ(ack(vu::make_vring_state_request(vu::Request::SET_VRING_NUM, {1, 8})), 1u)
      << "the device has one queue";
  EXPECT_EQ(ack(vu::make_vring_state_request(vu::Request::SET_VRING_ENABLE, {0, 2})), 1u);
  EXPECT_EQ(*harness_->get_u64(vu::Request::GET_QUEUE_NUM), 1u);
  harness_->hang_up();
  Status done = outcome();
  EXPECT_TRUE(done.ok()) << done.error().message();
}

TEST_F(RingLifecycleTest, WithoutReplyAckARefusalEndsTheSessionNamingTheRequest) {
  negotiate(kVersion1, 0);
  ASSERT_TRUE(harness_->send(vu::make_vring_state_request(vu::Request::SET_VRING_NUM, {0, 3})).ok());
  Status done = outcome();
  ASSERT_FALSE(done.ok());
  EXPECT_NE(done.error().message().find("SET_VRING_NUM"), std::string::npos) << done.error().message();
}

TEST_F(RingLifecycleTest, AMemoryTableWithTooManyRegionsEndsTheSessionNamingIt) {
  std::vector<vu::MemoryRegion> regions(9, vu::MemoryRegion{0, 0x1000, 0, 0});
  ASSERT_TRUE(harness_->send(vu::make_memory_table_request(regions, {})).ok());
  Status done = outcome();
  ASSERT_FALSE(done.ok());
  EXPECT_NE(done.error().message().find("SET_MEM_TABLE"), std::string::npos) << done.error().message();
}

TEST_F(RingLifecycleTest, AnOversizeConfigReadEndsTheSessionNamingIt) {
  vu::DeviceConfig query{0, 300, 0, std::vector<uint8_t>(300)};
  ASSERT_TRUE(harness_->send(vu::make_config_request(vu::Request::GET_CONFIG, query)).ok());
  Status done = outcome();
  ASSERT_FALSE(done.ok());
  EXPECT_NE(done.error().message().find("GET_CONFIG"), std::string::npos) << done.error().message();
}

TEST_F(RingLifecycleTest, AHangUpMidMessageEndsTheSessionWithoutAnError) {
  const uint8_t half_header[6] = {2, 0, 0, 0, 1, 0};
  ASSERT_TRUE(harness_->send_bytes(half_header).ok());
  harness_->hang_up();
  EXPECT_TRUE(outcome().ok());
}

}  // namespace
}  // namespace bulwark::backend
