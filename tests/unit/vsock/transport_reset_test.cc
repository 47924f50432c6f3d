// A bulwark-dev-vsock that replaces a dead one tells the guest its connections are gone
// (VIRTIO_VSOCK_EVENT_TRANSPORT_RESET on the event queue), as Firecracker does after a
// restore; a process that starts afresh sends nothing. The real VsockDevice behind a
// BackendServer in a thread, the test as frontend and guest (ring_harness: real codec, rings
// in a shared memfd), the in-flight record handed from one process's session to the next as
// the monitor does.
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <future>
#include <memory>
#include <thread>

#include "devices/backend/backend_server.h"
#include "devices/vsock/vsock_device.h"
#include "tests/unit/backend/ring_harness.h"

namespace bulwark::vsock {
namespace {

namespace vu = vhost_user;
using backend::BackendServer;
using backend::test::RingHarness;

constexpr uint64_t kVersion1Bit = 1ull << 32;
constexpr uint64_t kProtocolFeaturesBit = 1ull << 30;
constexpr uint64_t kProtocolsWanted = (1ull << vu::kProtocolReplyAck) | (1ull << vu::kProtocolInflightShmfd);
constexpr uint16_t kQueues = 3;
constexpr uint64_t kEventBuffer = RingHarness::kBuffers + 0x1000;

// One process of the device: a VsockDevice and its server in a thread on a socketpair, the
// harness the frontend's end.
struct DeviceSession {
  DeviceSession() {
    int pair[2], listener[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return;
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, listener) != 0) return;
    unused_peer = UniqueFd(listener[1]);
    VsockDeviceOptions options;
    options.uds_path = "/nonexistent/v.sock";
    auto made = VsockDevice::create(options, UniqueFd(listener[0]));
    if (!made.ok()) return;
    device = std::move(*made);
    server_end = UniqueFd(::dup(pair[1]));
    server = std::make_unique<BackendServer>(UniqueFd(pair[1]), *device);
    outcome = std::async(std::launch::async, [this] { return server->run(); });
    auto harness_made = RingHarness::create(UniqueFd(pair[0]));
    if (harness_made.ok()) harness = std::make_unique<RingHarness>(std::move(*harness_made));
  }
  ~DeviceSession() {
    harness.reset();
    if (server_end.valid()) ::shutdown(server_end.get(), SHUT_RDWR);
    if (outcome.valid()) (void)outcome.wait_for(std::chrono::seconds(5));
  }
  UniqueFd unused_peer, server_end;
  std::unique_ptr<VsockDevice> device;
  std::unique_ptr<BackendServer> server;
  std::future<Status> outcome;
  std::unique_ptr<RingHarness> harness;
};

void negotiate(RingHarness& harness) {
  ASSERT_TRUE(harness.get_u64(vu::Request::GET_FEATURES).ok());
  ASSERT_TRUE(harness.get_u64(vu::Request::GET_PROTOCOL_FEATURES).ok());
  ASSERT_TRUE(harness.send(vu::make_u64_request(vu::Request::SET_PROTOCOL_FEATURES, kProtocolsWanted)).ok());
  ASSERT_TRUE(harness.send(vu::make_request(vu::Request::SET_OWNER)).ok());
  ASSERT_TRUE(harness.send(vu::make_u64_request(vu::Request::SET_FEATURES, kVersion1Bit | kProtocolFeaturesBit)).ok());
  ASSERT_TRUE(harness.share_memory().ok());
}

void hand_record(RingHarness& harness, const vu::InflightDescription& description, int record_fd) {
  auto acked = harness.acked(
      vu::make_inflight_message(vu::Request::SET_INFLIGHT_FD, description, UniqueFd(::dup(record_fd)), true));
  ASSERT_TRUE(acked.ok()) << acked.error().message();
  ASSERT_EQ(*acked, 0u);
}

// GET_INFLIGHT_FD for the device's three queues: a fresh record.
void fresh_record(RingHarness& harness, vu::InflightDescription& description, UniqueFd& record_fd) {
  auto reply = harness.call(vu::make_inflight_message(vu::Request::GET_INFLIGHT_FD, {0, 0, kQueues, RingHarness::kQueueSize}));
  ASSERT_TRUE(reply.ok()) << reply.error().message();
  auto parsed = vu::parse_inflight_description(*reply, 1);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  description = *parsed;
  record_fd = std::move(reply->fds[0]);
}

// Starts the three rings; `restart`: the guest's rings as they are (a replacement resumes
// them), else fresh ones with one event buffer offered.
void start_rings(RingHarness& harness, bool restart) {
  for (uint16_t q = 0; q < kQueues; ++q) {
    if (restart) {
      ASSERT_TRUE(harness.describe_ring(q, harness.used_index(q)).ok());
    } else {
      ASSERT_TRUE(harness.set_up_ring(q).ok());
    }
  }
  if (!restart) {
    const uint8_t unused = 0xee;
    harness.offer(VsockDevice::kEventQueue, kEventBuffer, std::span(&unused, 1), 8);
    std::memset(harness.guest(kEventBuffer + 1), 0xaa, 8);  // the event's bytes, to see them written
  }
  for (uint16_t q = 0; q < kQueues; ++q) {
    ASSERT_TRUE(harness.set_kick(q).ok());
    auto enabled = harness.acked(vu::make_vring_state_request(vu::Request::SET_VRING_ENABLE, {q, 1}, true));
    ASSERT_TRUE(enabled.ok() && *enabled == 0);
  }
  harness.kick(VsockDevice::kEventQueue);
}

// The first process serves the rings with a record, then dies (its session ends); the second
// gets the same record (`hand_over`) or a fresh one. Returns the second session's event queue
// used index after it started, and leaves the event buffer's bytes in `event`.
uint16_t replace_once(bool hand_over, uint8_t (&event)[8]) {
  vu::InflightDescription description;
  UniqueFd record_fd;
  {
    DeviceSession first;
    EXPECT_TRUE(first.harness != nullptr);
    if (first.harness == nullptr) return 99;
    negotiate(*first.harness);
    fresh_record(*first.harness, description, record_fd);
    hand_record(*first.harness, description, record_fd.get());
    start_rings(*first.harness, false);
    (void)first.harness->get_u64(vu::Request::GET_QUEUE_NUM);  // every message handled
    EXPECT_FALSE(first.harness->called(VsockDevice::kEventQueue, std::chrono::milliseconds(200)))
        << "a device that replaced nobody posted an event";
    EXPECT_EQ(first.harness->used_index(VsockDevice::kEventQueue), 0);
    // The guest's memory lives in each harness: the second gets a copy of the first's.
    DeviceSession second;
    EXPECT_TRUE(second.harness != nullptr);
    if (second.harness == nullptr) return 99;
    first.harness->hang_up();
    negotiate(*second.harness);
    // The harness's eventfds come with set_up_ring, which also clears the rings: the guest's
    // memory as the first process left it is copied in afterwards.
    for (uint16_t q = 0; q < kQueues; ++q) EXPECT_TRUE(second.harness->set_up_ring(q).ok());
    std::memcpy(second.harness->guest(0), first.harness->guest(0), RingHarness::kMemoryBytes);
    if (hand_over) {
      hand_record(*second.harness, description, record_fd.get());
    } else {
      vu::InflightDescription fresh;
      UniqueFd fresh_fd;
      fresh_record(*second.harness, fresh, fresh_fd);
      hand_record(*second.harness, fresh, fresh_fd.get());
    }
    start_rings(*second.harness, true);
    (void)second.harness->called(VsockDevice::kEventQueue, std::chrono::milliseconds(hand_over ? 3000 : 300));
    (void)second.harness->get_u64(vu::Request::GET_QUEUE_NUM);
    std::memcpy(event, second.harness->guest(kEventBuffer + 1), sizeof event);
    const uint16_t used = second.harness->used_index(VsockDevice::kEventQueue);
    if (used == 1) {
      EXPECT_EQ(second.harness->used_element(VsockDevice::kEventQueue, 0).length, 4u);
    }
    return used;
  }
}

TEST(VsockTransportReset, AProcessResumingItsPredecessorsRecordPostsTransportReset) {
  uint8_t event[8];
  EXPECT_EQ(replace_once(true, event), 1) << "one event for the guest";
  const uint8_t reset_id[4] = {0, 0, 0, 0};  // VIRTIO_VSOCK_EVENT_TRANSPORT_RESET, le32
  EXPECT_EQ(std::memcmp(event, reset_id, 4), 0);
  EXPECT_EQ(event[4], 0xaa) << "only the 4-byte event is written";
}

TEST(VsockTransportReset, AProcessStartingFromAFreshRecordPostsNothing) {
  uint8_t event[8];
  EXPECT_EQ(replace_once(false, event), 0);
  EXPECT_EQ(event[0], 0xaa);
}

// A ring stopped and restarted within one process resumes a record that process wrote itself:
// its connections are alive, so no reset.
TEST(VsockTransportReset, ARingRestartedWithinOneProcessPostsNothing) {
  DeviceSession only;
  ASSERT_TRUE(only.harness != nullptr);
  RingHarness& harness = *only.harness;
  negotiate(harness);
  vu::InflightDescription description;
  UniqueFd record_fd;
  fresh_record(harness, description, record_fd);
  hand_record(harness, description, record_fd.get());
  start_rings(harness, false);
  auto base = harness.call(vu::make_vring_state_request(vu::Request::GET_VRING_BASE, {VsockDevice::kRxQueue, 0}));
  ASSERT_TRUE(base.ok()) << base.error().message();
  auto state = vu::parse_vring_state(*base);
  ASSERT_TRUE(state.ok());
  ASSERT_TRUE(harness.describe_ring(VsockDevice::kRxQueue, static_cast<uint16_t>(state->num)).ok());
  ASSERT_TRUE(harness.set_kick(VsockDevice::kRxQueue).ok());
  auto enabled = harness.acked(
      vu::make_vring_state_request(vu::Request::SET_VRING_ENABLE, {VsockDevice::kRxQueue, 1}, true));
  ASSERT_TRUE(enabled.ok() && *enabled == 0);
  harness.kick(VsockDevice::kEventQueue);
  EXPECT_FALSE(harness.called(VsockDevice::kEventQueue, std::chrono::milliseconds(300)));
  EXPECT_EQ(harness.used_index(VsockDevice::kEventQueue), 0);
}

}  // namespace
}  // namespace bulwark::vsock
