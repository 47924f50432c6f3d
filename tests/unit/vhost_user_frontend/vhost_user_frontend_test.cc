// VhostUserFrontend against a fake backend thread on a socketpair: what it sends, what it
// offers the guest, and how each kind of bad reply fails the device without hanging.
#include "monitor/vhost_user/vhost_user_frontend.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "devices/vhost_user/channel.h"
#include "devices/vhost_user/protocol.h"

namespace bulwark::vhost_user {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t kRamBytes = 1 << 20;
constexpr uint64_t kVersion1Bit = 1ULL << 32;
constexpr uint64_t kProtocolBit = 1ULL << 30;
constexpr uint64_t kBlkFlush = 1ULL << 9;
constexpr uint64_t kBlkMq = 1ULL << 12;
constexpr uint64_t kPackedRing = 1ULL << 34;  // not supported by the monitor

struct Received {
  uint32_t request;
  uint32_t flags;
  std::vector<uint8_t> payload;
  size_t fd_count;
};

std::vector<uint8_t> u64_bytes(uint64_t v) {
  std::vector<uint8_t> out(8);
  std::memcpy(out.data(), &v, 8);
  return out;
}

uint64_t u64_of(const std::vector<uint8_t>& bytes, size_t at = 0) {
  uint64_t v = 0;
  if (bytes.size() >= at + 8) std::memcpy(&v, bytes.data() + at, 8);
  return v;
}

uint32_t u32_of(const std::vector<uint8_t>& bytes, size_t at) {
  uint32_t v = 0;
  if (bytes.size() >= at + 4) std::memcpy(&v, bytes.data() + at, 4);
  return v;
}

// A backend that answers like a correct one unless `override_reply` says otherwise. It
// records every message the frontend sent.
class FakeBackend {
 public:
  // nullopt: answer correctly; an empty optional message with request 0: stay silent.
  using Override = std::function<std::optional<Message>(const Message& request, bool& hang_up)>;

  uint64_t features = kVersion1Bit | kProtocolBit | kBlkFlush | kBlkMq | kPackedRing | (1ULL << 29);
  uint64_t protocol_features = (1ULL << kProtocolMq) | (1ULL << kProtocolReplyAck) | (1ULL << kProtocolConfig) |
                               (1ULL << 5);  // and one the frontend does not want
  uint64_t queue_num = 2;
  uint16_t config_num_queues = 2;
  Override override_reply;

  explicit FakeBackend(UniqueFd socket) : socket_(std::move(socket)) {
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeBackend() {
    ::shutdown(socket_.get(), SHUT_RDWR);
    thread_.join();
  }
  std::vector<Received> received() {
    std::lock_guard<std::mutex> lock(mutex_);
    return received_;
  }
  std::vector<uint32_t> codes() {
    std::vector<uint32_t> out;
    for (const Received& r : received()) out.push_back(r.request);
    return out;
  }

 private:
  std::vector<uint8_t> good_payload(const Message& request) {
    switch (static_cast<Request>(request.request)) {
      case Request::GET_FEATURES: return u64_bytes(features);
      case Request::GET_PROTOCOL_FEATURES: return u64_bytes(protocol_features);
      case Request::GET_QUEUE_NUM: return u64_bytes(queue_num);
      case Request::GET_CONFIG: {
        std::vector<uint8_t> payload = request.payload;
        const uint64_t capacity = 2048;  // a vsock's 8-byte configuration reads it as its guest CID
        if (payload.size() >= 12 + 8) std::memcpy(payload.data() + 12, &capacity, 8);
        if (payload.size() >= 12 + 34 + 2) std::memcpy(payload.data() + 12 + 34, &config_num_queues, 2);
        return payload;
      }
      case Request::GET_VRING_BASE: {
        std::vector<uint8_t> payload = request.payload;
        payload[4] = 7;  // the queue stopped at 7
        return payload;
      }
      default: return u64_bytes(0);
    }
  }
  static bool expects_reply(const Message& m) {
    switch (static_cast<Request>(m.request)) {
      case Request::GET_FEATURES:
      case Request::GET_PROTOCOL_FEATURES:
      case Request::GET_QUEUE_NUM:
      case Request::GET_CONFIG:
      case Request::GET_VRING_BASE: return true;
      default: return (m.flags & kNeedReplyFlag) != 0;
    }
  }
  void serve() {
    for (;;) {
      Result<Message> request = receive_message(socket_.get());
      if (!request.ok()) return;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        received_.push_back({request->request, request->flags, request->payload, request->fds.size()});
      }
      if (!expects_reply(*request)) continue;
      bool hang_up = false;
      std::optional<Message> custom;
      if (override_reply) custom = override_reply(*request, hang_up);
      if (hang_up) {
        ::shutdown(socket_.get(), SHUT_RDWR);
        return;
      }
      Message reply;
      if (custom) {
        if (custom->request == 0) continue;  // silence
        reply = std::move(*custom);
      } else {
        reply.request = request->request;
        reply.flags = kVersion1 | kReplyFlag;
        reply.payload = good_payload(*request);
      }
      if (!send_message(socket_.get(), reply).ok()) return;
    }
  }

  UniqueFd socket_;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<Received> received_;
};

class FrontendTest : public testing::Test {
 protected:
  void SetUp() override {
    ::signal(SIGPIPE, SIG_IGN);
    memfd_.reset(::memfd_create("test-ram", MFD_CLOEXEC));
    ASSERT_TRUE(memfd_.valid());
    ASSERT_EQ(::ftruncate(memfd_.get(), kRamBytes), 0);
    void* base = ::mmap(nullptr, kRamBytes, PROT_READ | PROT_WRITE, MAP_SHARED, memfd_.get(), 0);
    ASSERT_NE(base, MAP_FAILED);
    base_ = static_cast<uint8_t*>(base);
    // Two regions, as guest RAM below and above the MMIO hole.
    ram_ = {memfd_.get(),
            {{0, kRamBytes / 2, base_, 0}, {0x100000000ULL, kRamBytes / 2, base_ + kRamBytes / 2, kRamBytes / 2}}};
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    frontend_end_.reset(pair[0]);
    backend_ = std::make_unique<FakeBackend>(UniqueFd(pair[1]));
    for (auto& fd : eventfds_) fd.reset(::eventfd(0, EFD_CLOEXEC));
  }
  void TearDown() override {
    frontend_.reset();
    backend_.reset();
    if (base_ != nullptr) ::munmap(base_, kRamBytes);
  }

  Result<void> connect(DeviceKind kind = DeviceKind::kBlock) {
    FrontendOptions options;
    options.name = "test device";
    options.reply_timeout = 300ms;
    auto frontend = VhostUserFrontend::connect(std::move(frontend_end_), kind, ram_, options);
    if (!frontend.ok()) return frontend.error();
    frontend_ = std::move(*frontend);
    return ok_status();
  }

  virtio_pci::QueueSetup queue(uint16_t index, uint64_t base = 0x10000) {
    const uint64_t at = base + index * 0x4000;
    return {index, 64, at, at + 0x1000, at + 0x2000, eventfds_[index * 2].get(), eventfds_[index * 2 + 1].get()};
  }

  UniqueFd memfd_;
  uint8_t* base_ = nullptr;
  SharedGuestRam ram_;
  UniqueFd frontend_end_;
  std::unique_ptr<FakeBackend> backend_;
  std::unique_ptr<VhostUserFrontend> frontend_;
  UniqueFd eventfds_[6];  // kick and call of up to 3 queues
};

uint32_t code(Request r) { return static_cast<uint32_t>(r); }

TEST_F(FrontendTest, HandshakeNegotiatesAndMasks) {
  ASSERT_TRUE(connect().ok());
  EXPECT_EQ(backend_->codes(),
            (std::vector<uint32_t>{code(Request::SET_OWNER), code(Request::GET_FEATURES),
                                   code(Request::GET_PROTOCOL_FEATURES), code(Request::SET_PROTOCOL_FEATURES),
                                   code(Request::GET_QUEUE_NUM), code(Request::GET_CONFIG),
                                   code(Request::SET_MEM_TABLE)}));
  const auto received = backend_->received();
  // Only the protocol features the frontend uses are acknowledged.
  EXPECT_EQ(u64_of(received[3].payload),
            (1ULL << kProtocolMq) | (1ULL << kProtocolReplyAck) | (1ULL << kProtocolConfig));
  // The memory table: two regions, one fd each, at the monitor's addresses, acked.
  const Received& table = received[6];
  EXPECT_EQ(table.fd_count, 2u);
  EXPECT_NE(table.flags & kNeedReplyFlag, 0u);
  EXPECT_EQ(u32_of(table.payload, 0), 2u);
  EXPECT_EQ(u64_of(table.payload, 8 + 32), 0x100000000ULL);           // second region's GPA
  EXPECT_EQ(u64_of(table.payload, 8 + 32 + 16), reinterpret_cast<uint64_t>(base_ + kRamBytes / 2));
  EXPECT_EQ(u64_of(table.payload, 8 + 32 + 24), kRamBytes / 2);       // its offset in the memfd
  // The guest sees neither the protocol-features bit nor packed rings.
  EXPECT_EQ(frontend_->device_features(), kVersion1Bit | kBlkFlush | kBlkMq | (1ULL << 29));
  EXPECT_EQ(frontend_->device_type(), 2u);
  EXPECT_EQ(frontend_->num_queues(), 2);
  uint8_t capacity[8];
  ASSERT_TRUE(frontend_->read_config(0, capacity).ok());
  EXPECT_EQ(u64_of(std::vector<uint8_t>(capacity, capacity + 8)), 2048u);
  uint8_t past_end[4] = {1, 1, 1, 1};
  ASSERT_TRUE(frontend_->read_config(200, past_end).ok());
  EXPECT_EQ(past_end[0] | past_end[3], 0);
  EXPECT_FALSE(frontend_->failed());
}

TEST_F(FrontendTest, ActivateStartsEachQueueAndResetStopsIt) {
  ASSERT_TRUE(connect().ok());
  const size_t before = backend_->received().size();
  const virtio_pci::QueueSetup queues[] = {queue(0), queue(1)};
  ASSERT_TRUE(frontend_->activate(kVersion1Bit | kBlkFlush, queues).ok());
  std::vector<Received> sent = backend_->received();
  sent.erase(sent.begin(), sent.begin() + static_cast<ptrdiff_t>(before));
  const std::vector<uint32_t> per_queue = {code(Request::SET_VRING_NUM),  code(Request::SET_VRING_BASE),
                                           code(Request::SET_VRING_ADDR), code(Request::SET_VRING_CALL),
                                           code(Request::SET_VRING_ERR),  code(Request::SET_VRING_KICK),
                                           code(Request::SET_VRING_ENABLE)};
  ASSERT_EQ(sent.size(), 1 + 2 * per_queue.size());
  EXPECT_EQ(sent[0].request, code(Request::SET_FEATURES));
  // The protocol-features bit stays set, or the backend would forget the protocol features.
  EXPECT_EQ(u64_of(sent[0].payload), kVersion1Bit | kBlkFlush | kProtocolBit);
  for (size_t q = 0; q < 2; ++q) {
    for (size_t i = 0; i < per_queue.size(); ++i) {
      const Received& m = sent[1 + q * per_queue.size() + i];
      EXPECT_EQ(m.request, per_queue[i]) << "queue " << q << " message " << i;
      EXPECT_NE(m.flags & kNeedReplyFlag, 0u) << "REPLY_ACK was negotiated";
    }
    const Received& address = sent[1 + q * per_queue.size() + 2];
    EXPECT_EQ(u32_of(address.payload, 0), q);
    EXPECT_EQ(u64_of(address.payload, 8), reinterpret_cast<uint64_t>(base_ + 0x10000 + q * 0x4000));
    EXPECT_EQ(sent[1 + q * per_queue.size() + 5].fd_count, 1u);  // the kick eventfd
  }
  frontend_->reset();
  sent = backend_->received();
  EXPECT_EQ(sent[sent.size() - 2].request, code(Request::GET_VRING_BASE));
  EXPECT_EQ(sent.back().request, code(Request::GET_VRING_BASE));
  EXPECT_FALSE(frontend_->failed());
  // Started again after the reset.
  ASSERT_TRUE(frontend_->activate(kVersion1Bit, queues).ok());
}

TEST_F(FrontendTest, GuestMistakesDoNotFailTheDevice) {
  ASSERT_TRUE(connect().ok());
  virtio_pci::QueueSetup outside = queue(0, kRamBytes / 2 - 0x1000);  // straddles the first region's end
  EXPECT_FALSE(frontend_->activate(kVersion1Bit, std::span(&outside, 1)).ok());
  virtio_pci::QueueSetup odd = queue(0);
  odd.size = 48;
  EXPECT_FALSE(frontend_->activate(kVersion1Bit, std::span(&odd, 1)).ok());
  virtio_pci::QueueSetup third = queue(0);
  third.index = 2;
  EXPECT_FALSE(frontend_->activate(kVersion1Bit, std::span(&third, 1)).ok());
  EXPECT_FALSE(frontend_->activate(kPackedRing, {}).ok());
  EXPECT_FALSE(frontend_->failed());
  const virtio_pci::QueueSetup good = queue(0);
  EXPECT_TRUE(frontend_->activate(kVersion1Bit, std::span(&good, 1)).ok());
}

TEST_F(FrontendTest, RngHasOneQueueAndNoConfig) {
  backend_->features = kVersion1Bit | kProtocolBit | kBlkFlush;
  ASSERT_TRUE(connect(DeviceKind::kRng).ok());
  EXPECT_EQ(frontend_->device_type(), 4u);
  EXPECT_EQ(frontend_->num_queues(), 1);
  EXPECT_EQ(frontend_->device_features(), kVersion1Bit);  // no blk bit for an rng
  for (uint32_t c : backend_->codes()) EXPECT_NE(c, code(Request::GET_CONFIG));
}

// virtio-vsock (device id 19): rx, tx and event queues, its 8-byte configuration (the guest's
// CID) read from the backend, no device feature bits let through.
TEST_F(FrontendTest, VsockHasThreeQueuesAndItsGuestCidFromTheBackend) {
  backend_->features = kVersion1Bit | kProtocolBit | kBlkFlush | (1ULL << 1);  // 1: SEQPACKET
  backend_->queue_num = 3;
  ASSERT_TRUE(connect(DeviceKind::kVsock).ok());
  EXPECT_EQ(frontend_->device_type(), 19u);
  EXPECT_EQ(frontend_->num_queues(), 3);
  EXPECT_EQ(frontend_->device_features(), kVersion1Bit);
  bool asked = false;
  for (const Received& m : backend_->received()) {
    if (m.request == code(Request::GET_CONFIG)) asked = u32_of(m.payload, 4) == 8;
  }
  EXPECT_TRUE(asked) << "GET_CONFIG of 8 bytes";
  uint8_t cid[8] = {};
  ASSERT_TRUE(frontend_->read_config(0, cid).ok());
  uint64_t value = 0;
  std::memcpy(&value, cid, 8);
  EXPECT_EQ(value, 2048u);
  const virtio_pci::QueueSetup queues[] = {queue(0), queue(1), queue(2)};
  EXPECT_TRUE(frontend_->activate(kVersion1Bit, queues).ok());
}

TEST_F(FrontendTest, VsockBackendServingFewerThanThreeQueuesIsRefused) {
  backend_->queue_num = 2;
  EXPECT_NE(connect(DeviceKind::kVsock).error().message().find("needs 3"), std::string::npos);
}

TEST_F(FrontendTest, WithoutProtocolFeaturesNothingIsAckedAndRingsNeedNoEnable) {
  backend_->features = kVersion1Bit;
  ASSERT_TRUE(connect(DeviceKind::kRng).ok());
  const virtio_pci::QueueSetup q = queue(0);
  ASSERT_TRUE(frontend_->activate(kVersion1Bit, std::span(&q, 1)).ok());
  for (const Received& m : backend_->received()) {
    EXPECT_EQ(m.flags & kNeedReplyFlag, 0u) << request_name(m.request);
    EXPECT_NE(m.request, code(Request::SET_VRING_ENABLE));
    EXPECT_NE(m.request, code(Request::GET_PROTOCOL_FEATURES));
  }
}

TEST_F(FrontendTest, HandshakeRefusesWhatCannotWork) {
  backend_->features = kProtocolBit;  // no VERSION_1
  EXPECT_NE(connect().error().message().find("VIRTIO_F_VERSION_1"), std::string::npos);
}

TEST_F(FrontendTest, BlockWithoutConfigFeatureIsRefused) {
  backend_->protocol_features = 1ULL << kProtocolReplyAck;
  Result<void> r = connect();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("CONFIG"), std::string::npos) << r.error().message();
}

TEST_F(FrontendTest, ConfigAnnouncingMoreQueuesThanServedIsRefused) {
  backend_->queue_num = 1;
  backend_->config_num_queues = 4;
  Result<void> r = connect();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("more than the 1 it serves"), std::string::npos) << r.error().message();
}

// Each bad reply to SET_FEATURES (acked) fails the device with a reason; the device then
// refuses everything and a reset sends nothing more.
struct BadReply {
  const char* name;
  std::function<std::optional<Message>(const Message&, bool&)> reply;
  const char* reason;
};

class FrontendBadReply : public FrontendTest, public testing::WithParamInterface<BadReply> {};

TEST_P(FrontendBadReply, FailsTheDevice) {
  ASSERT_TRUE(connect().ok());
  backend_->override_reply = [](const Message& request, bool& hang_up) -> std::optional<Message> {
    if (request.request != code(Request::SET_FEATURES)) return std::nullopt;
    return GetParam().reply(request, hang_up);
  };
  const virtio_pci::QueueSetup q = queue(0);
  const auto start = std::chrono::steady_clock::now();
  Result<void> r = frontend_->activate(kVersion1Bit, std::span(&q, 1));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(frontend_->failed());
  EXPECT_NE(frontend_->failure().find(GetParam().reason), std::string::npos) << frontend_->failure();
  uint8_t byte;
  EXPECT_FALSE(frontend_->read_config(0, std::span(&byte, 1)).ok());
  EXPECT_FALSE(frontend_->activate(kVersion1Bit, std::span(&q, 1)).ok());
  const size_t sent = backend_->received().size();
  frontend_->reset();
  EXPECT_EQ(backend_->received().size(), sent);
}

Message reply_to(const Message& request, std::vector<uint8_t> payload) {
  Message m;
  m.request = request.request;
  m.flags = kVersion1 | kReplyFlag;
  m.payload = std::move(payload);
  return m;
}

const BadReply kBadReplies[] = {
    {"WrongCode",
     [](const Message& r, bool&) -> std::optional<Message> {
       Message m = reply_to(r, u64_bytes(0));
       m.request = code(Request::GET_FEATURES);
       return m;
     },
     "got a message for"},
    {"NoReplyFlag",
     [](const Message& r, bool&) -> std::optional<Message> {
       Message m = reply_to(r, u64_bytes(0));
       m.flags = kVersion1;
       return m;
     },
     "reply flag"},
    {"WrongVersion",
     [](const Message& r, bool&) -> std::optional<Message> {
       Message m = reply_to(r, u64_bytes(0));
       m.flags = 2 | kReplyFlag;
       return m;
     },
     "version"},
    {"ShortPayload", [](const Message& r, bool&) -> std::optional<Message> { return reply_to(r, {0, 0, 0, 0}); },
     "reply to SET_FEATURES"},
    {"Refused", [](const Message& r, bool&) -> std::optional<Message> { return reply_to(r, u64_bytes(22)); },
     "refused"},
    {"WithFd",
     [](const Message& r, bool&) -> std::optional<Message> {
       Message m = reply_to(r, u64_bytes(0));
       m.fds.emplace_back(::eventfd(0, EFD_CLOEXEC));
       return m;
     },
     "file descriptors"},
    {"Silence",
     [](const Message&, bool&) -> std::optional<Message> {
       Message m;
       m.request = 0;
       return m;
     },
     "no complete reply within 300 ms"},
    {"HangUp",
     [](const Message&, bool& hang_up) -> std::optional<Message> {
       hang_up = true;
       return std::nullopt;
     },
     "closed"},
};

INSTANTIATE_TEST_SUITE_P(Table, FrontendBadReply, testing::ValuesIn(kBadReplies),
                         [](const testing::TestParamInfo<BadReply>& info) { return std::string(info.param.name); });

TEST_F(FrontendTest, WrongQueueInGetVringBaseFailsTheDevice) {
  ASSERT_TRUE(connect().ok());
  const virtio_pci::QueueSetup q = queue(0);
  ASSERT_TRUE(frontend_->activate(kVersion1Bit, std::span(&q, 1)).ok());
  backend_->override_reply = [](const Message& request, bool&) -> std::optional<Message> {
    if (request.request != code(Request::GET_VRING_BASE)) return std::nullopt;
    Message m = reply_to(request, {1, 0, 0, 0, 0, 0, 0, 0});  // queue 1, not 0
    return m;
  };
  frontend_->reset();
  EXPECT_TRUE(frontend_->failed());
  EXPECT_NE(frontend_->failure().find("GET_VRING_BASE"), std::string::npos) << frontend_->failure();
}

TEST_F(FrontendTest, FailIsLoggedOnceAndKeepsTheFirstReason) {
  ASSERT_TRUE(connect().ok());
  frontend_->fail("the backend closed the connection");
  frontend_->fail("something else");
  EXPECT_EQ(frontend_->failure(), "the backend closed the connection");
}

TEST_F(FrontendTest, WritebackIsForwardedOtherWritesIgnored) {
  ASSERT_TRUE(connect().ok());
  const size_t before = backend_->received().size();
  const uint8_t one = 1;
  ASSERT_TRUE(frontend_->write_config(0, std::span(&one, 1)).ok());  // capacity: read-only
  EXPECT_EQ(backend_->received().size(), before);
  ASSERT_TRUE(frontend_->write_config(32, std::span(&one, 1)).ok());
  const auto sent = backend_->received();
  ASSERT_EQ(sent.size(), before + 1);
  EXPECT_EQ(sent.back().request, code(Request::SET_CONFIG));
  uint8_t back = 0;
  ASSERT_TRUE(frontend_->read_config(32, std::span(&back, 1)).ok());
  EXPECT_EQ(back, 1);
}

}  // namespace
}  // namespace bulwark::vhost_user
