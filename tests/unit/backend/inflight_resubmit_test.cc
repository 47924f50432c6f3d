// The in-flight record across a device process's replacement (issue 18), with the real codec
// over socketpairs and rings in shared memory: a first server takes three requests and
// completes only the second, then its session ends as a crashed process's would; a second
// server, given the same record with SET_INFLIGHT_FD and the ring's base at the used index (as
// QEMU sets it after a backend died), must serve the first and third, in that order, and not
// the second again. Without the record, the used index alone would repeat the second and lose
// the first: the second test shows it, so the first cannot pass by accident.
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "devices/backend/backend_server.h"
#include "tests/unit/backend/ring_harness.h"

namespace bulwark::backend {
namespace {

namespace vu = vhost_user;
using test::RingHarness;

constexpr uint64_t kVersion1 = 1ull << 32;
constexpr uint64_t kProtocolFeatures = 1ull << 30;
constexpr uint64_t kProtocols = (1ull << vu::kProtocolReplyAck) | (1ull << vu::kProtocolInflightShmfd);

// Takes every chain it is offered and names it by its first readable byte; completes those
// `completes` names at once and holds the rest, as a device with slow I/O would.
class RecordingDevice : public VirtioDevice {
 public:
  explicit RecordingDevice(std::string completes) : completes_(std::move(completes)) {}
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
      const char name = static_cast<char>((*chain)->readable.at(0)[0]);
      {
        std::lock_guard lock(mutex_);
        seen_ += name;
      }
      if (completes_.find(name) != std::string::npos) BULWARK_TRY(queue.push_used((*chain)->head, 0));
    }
    return served;
  }
  std::string seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  std::string completes_;
  std::mutex mutex_;
  std::string seen_;
};

// One device process's session: a server in a thread on a fresh socketpair. Ending the
// session shuts the server's socket down, so a test that stops early never waits on run().
struct Session {
  explicit Session(RecordingDevice& device) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return;
    frontend_end = UniqueFd(pair[0]);
    server_end = UniqueFd(::dup(pair[1]));
    server = std::make_unique<BackendServer>(UniqueFd(pair[1]), device);
    outcome = std::async(std::launch::async, [this] { return server->run(); });
  }
  ~Session() {
    if (server_end.valid()) ::shutdown(server_end.get(), SHUT_RDWR);
  }
  bool ended() { return outcome.wait_for(std::chrono::seconds(5)) == std::future_status::ready; }
  UniqueFd frontend_end;
  UniqueFd server_end;  // a second descriptor of the server's socket, to end the session
  std::unique_ptr<BackendServer> server;
  std::future<Status> outcome;
};

Status negotiate(RingHarness& harness) {
  BULWARK_TRY(harness.get_u64(vu::Request::GET_FEATURES));
  BULWARK_TRY(harness.get_u64(vu::Request::GET_PROTOCOL_FEATURES));
  BULWARK_TRY(harness.send(vu::make_u64_request(vu::Request::SET_PROTOCOL_FEATURES, kProtocols)));
  BULWARK_TRY(harness.send(vu::make_request(vu::Request::SET_OWNER)));
  BULWARK_TRY(harness.send(vu::make_u64_request(vu::Request::SET_FEATURES, kVersion1 | kProtocolFeatures)));
  return harness.share_memory();
}

Status start_ring(RingHarness& harness) {
  BULWARK_TRY(harness.set_kick(0));
  auto enabled = harness.acked(vu::make_vring_state_request(vu::Request::SET_VRING_ENABLE, {0, 1}, true));
  if (!enabled.ok()) return enabled.error();
  return *enabled == 0 ? ok_status() : Error("SET_VRING_ENABLE refused");
}

Status hand_record(RingHarness& harness, const vu::InflightDescription& description, int record_fd) {
  auto acked = harness.acked(
      vu::make_inflight_message(vu::Request::SET_INFLIGHT_FD, description, UniqueFd(::dup(record_fd)), true));
  if (!acked.ok()) return acked.error();
  return *acked == 0 ? ok_status() : Error("SET_INFLIGHT_FD refused");
}

// The first process: GET_INFLIGHT_FD, three requests A, B, C taken, only B completed; its
// session then ends with A and C in flight. Leaves the record's fd and description in the
// arguments, as a frontend keeps them.
void first_process_takes_three_and_completes_one(RingHarness*& harness_out, std::unique_ptr<RingHarness>& harness,
                                                 UniqueFd& record_fd, vu::InflightDescription& description) {
  RecordingDevice device("B");
  Session session(device);
  auto made = RingHarness::create(std::move(session.frontend_end));
  ASSERT_TRUE(made.ok()) << made.error().message();
  harness = std::make_unique<RingHarness>(std::move(*made));
  harness_out = harness.get();
  ASSERT_TRUE(negotiate(*harness).ok());
  auto reply = harness->call(vu::make_inflight_message(vu::Request::GET_INFLIGHT_FD, {0, 0, 1, RingHarness::kQueueSize}));
  ASSERT_TRUE(reply.ok()) << reply.error().message();
  auto parsed = vu::parse_inflight_description(*reply, 1);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  description = *parsed;
  record_fd = std::move(reply->fds[0]);
  ASSERT_TRUE(hand_record(*harness, description, record_fd.get()).ok());
  ASSERT_TRUE(harness->set_up_ring(0).ok());
  ASSERT_TRUE(start_ring(*harness).ok());
  for (char name : {'A', 'B', 'C'}) {
    const uint8_t byte = static_cast<uint8_t>(name);
    harness->offer(0, RingHarness::kBuffers + 0x100ull * static_cast<uint64_t>(name - 'A'), std::span(&byte, 1), 8);
  }
  harness->kick(0);
  ASSERT_TRUE(harness->called(0));
  ASSERT_EQ(device.seen(), "ABC");
  ASSERT_EQ(harness->used_index(0), 1);
  ASSERT_EQ(harness->used_element(0, 0).id, 2u) << "B (descriptors 2-3) completed";
  harness->hang_up();
  ASSERT_TRUE(session.ended());
}

TEST(InflightResubmit, AReplacementServesWhatItsPredecessorTookAndNeverCompletedInOrderAndNothingTwice) {
  std::unique_ptr<RingHarness> harness;
  RingHarness* raw = nullptr;
  UniqueFd record_fd;
  vu::InflightDescription description;
  first_process_takes_three_and_completes_one(raw, harness, record_fd, description);
  ASSERT_NE(raw, nullptr);
  if (HasFatalFailure()) return;

  RecordingDevice replacement("ABCD");
  Session session(replacement);
  harness->replace_socket(std::move(session.frontend_end));
  ASSERT_TRUE(negotiate(*harness).ok());
  ASSERT_TRUE(hand_record(*harness, description, record_fd.get()).ok());
  // QEMU's base after a backend died: the used index.
  ASSERT_TRUE(harness->describe_ring(0, harness->used_index(0)).ok());
  ASSERT_TRUE(start_ring(*harness).ok());
  ASSERT_TRUE(harness->called(0));
  EXPECT_EQ(replacement.seen(), "AC");
  EXPECT_EQ(harness->used_index(0), 3);
  EXPECT_EQ(harness->used_element(0, 1).id, 0u) << "A (descriptors 0-1)";
  EXPECT_EQ(harness->used_element(0, 2).id, 4u) << "C (descriptors 4-5)";
  // New requests continue after the three.
  const uint8_t d = 'D';
  harness->offer(0, RingHarness::kBuffers + 0x300, std::span(&d, 1), 8);
  harness->kick(0);
  ASSERT_TRUE(harness->called(0));
  EXPECT_EQ(replacement.seen(), "ACD");
  harness->hang_up();
  EXPECT_TRUE(session.ended());
}

TEST(InflightResubmit, WithoutTheRecordTheUsedIndexAloneRepeatsACompletedRequestAndLosesATakenOne) {
  std::unique_ptr<RingHarness> harness;
  RingHarness* raw = nullptr;
  UniqueFd record_fd;
  vu::InflightDescription description;
  first_process_takes_three_and_completes_one(raw, harness, record_fd, description);
  if (HasFatalFailure()) return;

  RecordingDevice replacement("ABC");
  Session session(replacement);
  harness->replace_socket(std::move(session.frontend_end));
  ASSERT_TRUE(negotiate(*harness).ok());
  ASSERT_TRUE(harness->describe_ring(0, harness->used_index(0)).ok());
  ASSERT_TRUE(start_ring(*harness).ok());
  ASSERT_TRUE(harness->called(0));
  EXPECT_EQ(replacement.seen(), "BC") << "B a second time, A never";
  harness->hang_up();
  EXPECT_TRUE(session.ended());
}

TEST(InflightResubmit, ARecordThatDoesNotFitTheDeviceIsRefused) {
  RecordingDevice device("");
  Session session(device);
  auto made = RingHarness::create(std::move(session.frontend_end));
  ASSERT_TRUE(made.ok());
  ASSERT_TRUE(negotiate(*made).ok());
  // More queues than the device has: nothing is made, and a request that cannot be answered
  // ends the session.
  ASSERT_TRUE(made->send(vu::make_inflight_message(vu::Request::GET_INFLIGHT_FD, {0, 0, 2, 8})).ok());
  ASSERT_TRUE(session.ended());
  Status outcome = session.outcome.get();
  ASSERT_FALSE(outcome.ok());
  EXPECT_NE(outcome.error().message().find("2 queues, the device has 1"), std::string::npos)
      << outcome.error().message();
}

}  // namespace
}  // namespace bulwark::backend
