// BackendServer on one end of a socketpair (in a thread), a tiny fake device behind it, and the
// test frontend on the other end speaking the real codec.
#include "devices/backend/backend_server.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <future>
#include <thread>

#include "devices/vhost_user/channel.h"
#include "tests/unit/blk/test_frontend.h"

namespace bulwark::backend {
namespace {

namespace vu = vhost_user;
using test::TestFrontend;

// Writes 0x42 over every writable byte of each chain.
class FakeDevice : public VirtioDevice {
 public:
  uint32_t device_type() const override { return 99; }
  uint64_t device_features() const override { return 1ull << 3; }
  uint16_t num_queues() const override { return 2; }
  uint16_t max_queue_size() const override { return 64; }
  std::span<const uint8_t> config_space() const override { return config_; }
  void set_features(uint64_t negotiated) override { negotiated_ = negotiated; }
  Result<uint32_t> process_queue(uint16_t index, virtio::SplitQueue& queue, uint32_t budget) override {
    ++processed_[index];
    uint32_t served = 0;
    for (; served < budget; ++served) {
      auto chain = queue.pop();
      if (!chain.ok()) return chain.error();
      if (!chain->has_value()) break;
      for (auto buffer : (*chain)->writable) std::memset(buffer.data(), 0x42, buffer.size());
      BULWARK_TRY(queue.push_used((*chain)->head, static_cast<uint32_t>((*chain)->writable_bytes)));
    }
    return served;
  }
  std::array<uint8_t, 8> config_{1, 2, 3, 4, 5, 6, 7, 8};
  uint64_t negotiated_ = 0;
  std::array<int, 2> processed_{};
};

class BackendServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    server_ = std::make_unique<BackendServer>(UniqueFd(pair[1]), device_);
    result_ = std::async(std::launch::async, [this] { return server_->run(); });
    auto frontend = TestFrontend::create(UniqueFd(pair[0]));
    ASSERT_TRUE(frontend.ok());
    frontend_ = std::move(*frontend);
  }
  void TearDown() override {
    if (frontend_) frontend_->close_socket();
    if (result_.valid()) (void)result_.get();
  }
  // The server's outcome once the frontend is done (bounded wait).
  Status outcome() {
    if (result_.wait_for(std::chrono::seconds(5)) != std::future_status::ready) return Error("run() did not return");
    return result_.get();
  }

  FakeDevice device_;
  std::unique_ptr<BackendServer> server_;
  std::future<Status> result_;
  std::unique_ptr<TestFrontend> frontend_;
};

TEST_F(BackendServerTest, OffersRingAndProtocolFeaturesOnTopOfTheDevices) {
  auto features = frontend_->get_u64(vu::Request::GET_FEATURES);
  ASSERT_TRUE(features.ok());
  EXPECT_EQ(*features, (1ull << 3) | (1ull << 28) | (1ull << 29) | (1ull << 30) | (1ull << 32));
  auto protocol = frontend_->get_u64(vu::Request::GET_PROTOCOL_FEATURES);
  ASSERT_TRUE(protocol.ok());
  EXPECT_EQ(*protocol, (1ull << vu::kProtocolMq) | (1ull << vu::kProtocolReplyAck) | (1ull << vu::kProtocolConfig) |
                           (1ull << vu::kProtocolInflightShmfd));
  EXPECT_EQ(*frontend_->get_u64(vu::Request::GET_QUEUE_NUM), 2u);
  EXPECT_EQ(*frontend_->get_u64(vu::Request::GET_MAX_MEM_SLOTS), 8u);
  frontend_->close_socket();
  Status done = outcome();
  EXPECT_TRUE(done.ok()) << done.error().message();
}

TEST_F(BackendServerTest, AKickedChainIsUsedAndTheCallEventfdSignalled) {
  ASSERT_TRUE(frontend_->start(1ull << 3).ok());
  EXPECT_EQ(device_.negotiated_ & (1ull << 3), 1ull << 3);
  const uint64_t in = frontend_->allocate(32);
  const uint64_t out = frontend_->allocate(100);
  std::memset(frontend_->guest(out), 0, 100);
  auto used = frontend_->submit(0, {{in, 32, false}, {out, 100, true}});
  ASSERT_TRUE(used.ok()) << used.error().message();
  EXPECT_EQ(*used, 100u);
  EXPECT_EQ(frontend_->guest(out)[99], 0x42);
  EXPECT_EQ(frontend_->used_index(0), 1);
  // A second one: event index asks for each interrupt again.
  ASSERT_TRUE(frontend_->submit(0, {{out, 10, true}}).ok());
  // GET_VRING_BASE stops the ring and reports where the device is.
  auto base = frontend_->call(vu::make_vring_state_request(vu::Request::GET_VRING_BASE, {0, 0}));
  ASSERT_TRUE(base.ok()) << base.error().message();
  auto state = vu::parse_vring_state(*base);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->index, 0u);
  EXPECT_EQ(state->num, 2u);
  // Stopped: a new chain and kick get no answer.
  auto ignored = frontend_->submit(0, {{out, 10, true}}, std::chrono::milliseconds(200));
  EXPECT_FALSE(ignored.ok());
  frontend_->close_socket();
  EXPECT_TRUE(outcome().ok());
}

TEST_F(BackendServerTest, ConfigReadsPastTheSpaceAsZeroAndWritesAreRefusedWithReplyAck) {
  ASSERT_TRUE(frontend_->start(0).ok());
  vu::DeviceConfig query{4, 8, 0, std::vector<uint8_t>(8)};
  auto reply = frontend_->call(vu::make_config_request(vu::Request::GET_CONFIG, query));
  ASSERT_TRUE(reply.ok()) << reply.error().message();
  auto config = vu::parse_device_config(*reply);
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->bytes, (std::vector<uint8_t>{5, 6, 7, 8, 0, 0, 0, 0}));
  vu::DeviceConfig write{0, 1, 0, {9}};
  auto refused = frontend_->call(vu::make_config_request(vu::Request::SET_CONFIG, write, true));
  EXPECT_FALSE(refused.ok());
  // Refused, not fatal: the session goes on.
  EXPECT_TRUE(frontend_->get_u64(vu::Request::GET_QUEUE_NUM).ok());
  frontend_->close_socket();
  EXPECT_TRUE(outcome().ok());
}

TEST_F(BackendServerTest, FeaturesNeverOfferedAreRefused) {
  ASSERT_TRUE(frontend_->get_u64(vu::Request::GET_FEATURES).ok());
  ASSERT_TRUE(frontend_->call(vu::make_u64_request(vu::Request::SET_PROTOCOL_FEATURES,
                                                   1ull << vu::kProtocolReplyAck)).ok());
  // Not yet known to the frontend helper that REPLY_ACK is on: read the status by hand.
  ASSERT_TRUE(frontend_->send(vu::make_u64_request(vu::Request::SET_FEATURES, 1ull << 40, true)).ok());
  auto status = vu::receive_message_within(frontend_->socket(), std::chrono::seconds(5));
  ASSERT_TRUE(status.ok()) << status.error().message();
  EXPECT_EQ(*vu::parse_u64(*status), 1u);
  // Without NEED_REPLY the frontend could not learn of the refusal: the session ends.
  ASSERT_TRUE(frontend_->send(vu::make_u64_request(vu::Request::SET_PROTOCOL_FEATURES, 1ull << 20)).ok());
  Status done = outcome();
  ASSERT_FALSE(done.ok());
  EXPECT_NE(done.error().message().find("SET_PROTOCOL_FEATURES"), std::string::npos) << done.error().message();
}

TEST_F(BackendServerTest, AMalformedMessageEndsTheSessionNamingTheRequest) {
  const uint8_t short_payload[4] = {0, 0, 0, 0};
  ASSERT_TRUE(frontend_->send(vu::make_request(vu::Request::SET_VRING_NUM, short_payload)).ok());
  Status done = outcome();
  ASSERT_FALSE(done.ok());
  EXPECT_NE(done.error().message().find("SET_VRING_NUM"), std::string::npos) << done.error().message();
}

TEST_F(BackendServerTest, AMalformedMessageEndsTheSessionEvenWithReplyAck) {
  ASSERT_TRUE(frontend_->call(vu::make_u64_request(vu::Request::SET_PROTOCOL_FEATURES,
                                                   1ull << vu::kProtocolReplyAck)).ok());
  vu::Message bad = vu::make_u64_request(vu::Request::SET_VRING_KICK, 0, true);  // no fd, no no-fd bit
  ASSERT_TRUE(frontend_->send(bad).ok());
  Status done = outcome();
  ASSERT_FALSE(done.ok());
  EXPECT_NE(done.error().message().find("SET_VRING_KICK"), std::string::npos) << done.error().message();
}

TEST_F(BackendServerTest, UnknownRequestsAndRepliesAreRefused) {
  vu::Message reply = vu::make_u64_request(vu::Request::GET_FEATURES, 0);
  reply.flags |= vu::kReplyFlag;
  ASSERT_TRUE(frontend_->send(reply).ok());
  EXPECT_FALSE(outcome().ok());
}

TEST_F(BackendServerTest, UnknownRequestIsRefused) {
  vu::Message unknown = vu::make_request(static_cast<vu::Request>(77));
  ASSERT_TRUE(frontend_->send(unknown).ok());
  Status done = outcome();
  ASSERT_FALSE(done.ok());
  EXPECT_NE(done.error().message().find("77"), std::string::npos) << done.error().message();
}

TEST_F(BackendServerTest, AGuestThatBreaksOneQueueStopsOnlyThatQueue) {
  ASSERT_TRUE(frontend_->start(0, 2).ok());
  // Queue 0: the available index runs far ahead of the device.
  frontend_->offer(0, 0);
  uint16_t far = 1000;
  std::memcpy(frontend_->guest(TestFrontend::avail_gpa(0) + 2), &far, 2);
  ASSERT_TRUE(frontend_->kick(0).ok());
  EXPECT_TRUE(TestFrontend::wait_eventfd(frontend_->err_fd(0), std::chrono::seconds(5)));
  // Queue 1 still works.
  const uint64_t out = frontend_->allocate(16);
  auto used = frontend_->submit(1, {{out, 16, true}});
  ASSERT_TRUE(used.ok()) << used.error().message();
  EXPECT_EQ(*used, 16u);
  frontend_->close_socket();
  EXPECT_TRUE(outcome().ok());
}

TEST_F(BackendServerTest, RingsOutsideSharedMemoryFailTheQueueNotTheSession) {
  ASSERT_TRUE(frontend_->get_u64(vu::Request::GET_FEATURES).ok());
  ASSERT_TRUE(frontend_->start(0).ok());
  vu::Message stop = vu::make_vring_state_request(vu::Request::GET_VRING_BASE, {0, 0});
  ASSERT_TRUE(frontend_->call(stop).ok());
  vu::VringAddress address;
  address.index = 0;
  address.desc_user_addr = 0x1000;  // not a frontend address of the shared memory
  address.avail_user_addr = 0x2000;
  address.used_user_addr = 0x3000;
  ASSERT_TRUE(frontend_->call(vu::make_vring_address_request(address, true)).ok());
  // The kick fd is the trigger for the ring to start; it fails instead, reported on ERR.
  ASSERT_TRUE(frontend_->call(vu::make_vring_fd_request(vu::Request::SET_VRING_KICK, 0,
                                                        UniqueFd(::dup(frontend_->call_fd(0))), true)).ok());
  EXPECT_TRUE(TestFrontend::wait_eventfd(frontend_->err_fd(0), std::chrono::seconds(5)));
  EXPECT_TRUE(frontend_->get_u64(vu::Request::GET_QUEUE_NUM).ok());
  frontend_->close_socket();
  EXPECT_TRUE(outcome().ok());
}

TEST_F(BackendServerTest, AMemoryTableBeyondItsFileIsRefused) {
  ASSERT_TRUE(frontend_->call(vu::make_u64_request(vu::Request::SET_PROTOCOL_FEATURES,
                                                   1ull << vu::kProtocolReplyAck)).ok());
  UniqueFd memfd(::memfd_create("small", MFD_CLOEXEC));
  ASSERT_EQ(::ftruncate(memfd.get(), 4096), 0);
  const vu::MemoryRegion region{0, 8192, 0x10000, 0};
  std::vector<UniqueFd> fds;
  fds.push_back(std::move(memfd));
  ASSERT_TRUE(frontend_->send(vu::make_memory_table_request(std::span(&region, 1), std::move(fds), true)).ok());
  auto status = vu::receive_message_within(frontend_->socket(), std::chrono::seconds(5));
  ASSERT_TRUE(status.ok()) << status.error().message();
  EXPECT_EQ(*vu::parse_u64(*status), 1u);
  frontend_->close_socket();
  EXPECT_TRUE(outcome().ok());
}

}  // namespace
}  // namespace bulwark::backend
