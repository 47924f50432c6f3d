// The monitor's vhost-user frontend (VhostUserFrontend, what bulwark-monitor puts behind a
// virtio-pci function) against the real bulwark-dev-net under its seccomp policy, on a TAP in a
// network namespace the test creates. No KVM: guest RAM is a memfd mapped here, the test plays
// the guest's virtio-net driver on split rings it lays out itself, and QueueSetup carries the
// ring addresses and eventfds the transport would hand over at DRIVER_OK. Each test asserts
// what a guest would see: the features and configuration space, frames both ways with their
// bytes intact, control-queue answers, and a device reset after which the device serves again.
// Last, a device that lies about its queue pairs is refused at connect, and one without the
// CONFIG protocol feature (as DPDK's vhost backend) is accepted with one pair and no feature
// that needs the configuration. GuestRam and NetDriver are in split_ring_driver.h.
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>

#include "devices/vhost_user/channel.h"
#include "devices/vhost_user/protocol.h"
#include "monitor/vhost_user/vhost_user_frontend.h"
#include "tests/devices/net_namespace.h"
#include "tests/devices/net_test_guest.h"
#include "tests/devices/split_ring_driver.h"

namespace bulwark::test {
namespace {

using namespace std::chrono_literals;
using vhost_user::DeviceKind;
using vhost_user::VhostUserFrontend;
using virtio_pci::QueueSetup;

constexpr uint64_t bit(unsigned n) { return uint64_t{1} << n; }
constexpr uint64_t kVersion1 = bit(32);
// virtio-net feature bits (virtio 1.x 5.1.3).
constexpr uint64_t kCsum = bit(0), kGuestCsum = bit(1), kMtu = bit(3), kMac = bit(5), kGuestUfo = bit(10),
                   kHostUfo = bit(14), kMrgRxbuf = bit(15), kStatus = bit(16), kCtrlVq = bit(17), kMq = bit(22),
                   kCtrlMacAddr = bit(23);
// What the tests' driver accepts (a subset of what the monitor offers for bulwark-dev-net).
constexpr uint64_t kDriverFeatures = kVersion1 | kMac | kMtu | kStatus | kMrgRxbuf | kCtrlVq | kCtrlMacAddr;

// Control classes, commands and acks (virtio 1.x 5.1.6.5).
constexpr uint8_t kCtrlClassMac = 1, kCtrlMacAddrSet = 1;
constexpr uint8_t kCtrlClassMq = 4, kCtrlMqVqPairsSet = 0;
constexpr uint8_t kCtrlOk = 0, kCtrlErr = 1;

constexpr size_t kPacketVnetHeader = 10;  // what PACKET_VNET_HDR puts in front on the namespace side

const Mac kGuestMac{0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
const Mac kHostMac{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
const Mac kForeignMac{0x52, 0x54, 0x00, 0x66, 0x66, 0x66};
constexpr const char* kGuestIp = "10.99.0.2";
constexpr const char* kHostIp = "10.99.0.1";

std::span<const uint8_t> bytes_of(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// Reads frames from an AF_PACKET socket on the namespace's side of the TAP until one with
// `hash` (fnv1a of the Ethernet frame) shows up; every frame seen goes to `seen` when given.
bool capture_frame(int socket, uint64_t hash, std::chrono::milliseconds timeout,
                   std::vector<std::vector<uint8_t>>* seen = nullptr) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<uint8_t> buffer(70000);
  for (;;) {
    const auto left = milliseconds_until(deadline);
    if (left.count() <= 0) return false;
    pollfd p{socket, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) != 1) return false;
    const ssize_t n = ::recv(socket, buffer.data(), buffer.size(), 0);
    if (n < static_cast<ssize_t>(kPacketVnetHeader)) continue;
    const std::span<const uint8_t> frame(buffer.data() + kPacketVnetHeader, static_cast<size_t>(n) - kPacketVnetHeader);
    if (seen != nullptr) seen->emplace_back(frame.begin(), frame.end());
    if (fnv1a(frame) == hash) return true;
  }
}

class NetMonitorFrontendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    deadline_ = std::chrono::steady_clock::now() + 20s;
    auto ns = NetNamespace::create(std::string(kHostIp) + "/24", "02:00:00:00:00:01");
    ASSERT_TRUE(ns.ok()) << ns.error().message();
    ns_.emplace(std::move(*ns));
    auto tap = ns_->open_tap_queue();
    ASSERT_TRUE(tap.ok()) << tap.error().message();
    taps_.push_back(std::move(*tap));
    auto capture = ns_->packet_socket();
    ASSERT_TRUE(capture.ok()) << capture.error().message();
    capture_ = std::move(*capture);
    auto ram = GuestRam::create();
    ASSERT_TRUE(ram.ok()) << ram.error().message();
    ram_ = std::move(*ram);
    log_path_ = std::filesystem::temp_directory_path() /
                ("bulwark-net-frontend-" + std::to_string(::getpid()) + "-" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".log");
  }
  void TearDown() override {
    if (device_.pid > 0) stop();
    std::filesystem::remove(log_path_);
    driver_.reset();
    ram_.reset();
    taps_.clear();
    capture_.reset();
    ns_.reset();
    EXPECT_LT(std::chrono::steady_clock::now(), deadline_) << "the test ran past its own deadline";
  }

  // bulwark-dev-net on `pairs` TAP queues, and the monitor's frontend connected to it.
  void connect(uint16_t pairs, std::vector<std::string> args = {}) {
    while (taps_.size() < pairs) {
      auto tap = ns_->open_tap_queue();
      ASSERT_TRUE(tap.ok()) << tap.error().message();
      taps_.push_back(std::move(*tap));
    }
    std::vector<int> fds;
    for (const UniqueFd& tap : taps_) fds.push_back(tap.get());
    std::vector<std::string> all{"--queue-pairs", std::to_string(pairs), "--mac", "52:54:00:12:34:56",
                                 "--seccomp", "enforce"};
    all.insert(all.end(), args.begin(), args.end());
    auto device = start_net_device(fds, all, log_path_);
    ASSERT_TRUE(device.ok()) << device.error().message();
    device_ = std::move(*device);
    vhost_user::FrontendOptions options;
    options.name = "vhost-user-net 0 (test)";
    options.reply_timeout = 2s;
    auto frontend = VhostUserFrontend::connect(std::move(device_.socket), DeviceKind::kNet, ram_->shared(), options);
    ASSERT_TRUE(frontend.ok()) << frontend.error().message() << "\n" << device_.log();
    frontend_ = std::move(*frontend);
  }

  // DRIVER_OK: every queue the frontend exposes set up by the driver and started.
  void activate(uint64_t features) {
    if (!driver_) driver_ = std::make_unique<NetDriver>(*ram_, frontend_->num_queues());
    ASSERT_EQ((features & frontend_->device_features()), features) << "the test's driver wants unoffered features";
    const std::vector<QueueSetup> queues = driver_->setups();
    Result<void> activated = frontend_->activate(features, queues);
    ASSERT_TRUE(activated.ok()) << activated.error().message() << "\n" << device_.log();
    ASSERT_FALSE(frontend_->failed());
  }

  std::vector<uint8_t> guest_frame(const std::string& payload, const Mac& src = kGuestMac) {
    return udp_frame(kHostMac, src, kGuestIp, kHostIp, 4000, 5555, bytes_of(payload));
  }

  // A frame into the TAP from the namespace (through the capture socket, vnet header first).
  Status inject(std::span<const uint8_t> frame) {
    std::vector<uint8_t> packet(kPacketVnetHeader);
    packet.insert(packet.end(), frame.begin(), frame.end());
    if (::send(capture_.get(), packet.data(), packet.size(), 0) != static_cast<ssize_t>(packet.size())) {
      return Error::from_errno("send into the TAP", errno);
    }
    return ok_status();
  }

  // The guest receives `frame` (sent into the TAP) on RX queue `rx`: its bytes, after the vnet header.
  void expect_received(uint16_t rx, std::span<const uint8_t> frame) {
    for (int attempt = 0; attempt < 8; ++attempt) {
      auto packet = driver_->receive(rx, 2s);
      ASSERT_TRUE(packet.ok()) << packet.error().message() << "\n" << device_.log();
      ASSERT_GE(packet->size(), kVnetHeaderBytes);
      const std::span<const uint8_t> got = std::span<const uint8_t>(*packet).subspan(kVnetHeaderBytes);
      if (fnv1a(got) != fnv1a(frame)) continue;  // another frame of the namespace's
      EXPECT_EQ(got.size(), frame.size());
      EXPECT_EQ((*packet)[0], 0) << "flags: GUEST_CSUM was not negotiated";
      EXPECT_EQ((*packet)[1], 0) << "gso_type: no GSO negotiated";
      EXPECT_EQ((*packet)[10] | ((*packet)[11] << 8), 1) << "num_buffers";
      return;
    }
    ADD_FAILURE() << "the frame never reached the guest";
  }

  // A guest frame goes out on TX queue `tx` and is seen, byte for byte, on the namespace side.
  void expect_sent(uint16_t tx, const std::vector<uint8_t>& frame) {
    auto used = driver_->send(tx, frame);
    ASSERT_TRUE(used.ok()) << used.error().message() << "\n" << device_.log();
    EXPECT_EQ(*used, 0u) << "a TX chain has no device-writable bytes";
    EXPECT_TRUE(capture_frame(capture_.get(), fnv1a(frame), 2s)) << "not on the TAP\n" << device_.log();
  }

  // Drops the frontend, which holds the socket: the device process ends its session and must
  // exit 0. Its log (the last line is the summary with the drop counters).
  std::string stop() {
    frontend_.reset();
    const int status = device_.wait(5s);
    const std::string log = device_.log();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "wait status " << status << "\n" << log;
    // Sanitizer builds: the device itself must have run clean.
    EXPECT_EQ(log.find("runtime error"), std::string::npos) << log;
    EXPECT_EQ(log.find("Sanitizer"), std::string::npos) << log;
    return log;
  }

  bool device_alive() {
    int status = 0;
    return device_.pid > 0 && ::waitpid(device_.pid, &status, WNOHANG) == 0;
  }

  std::chrono::steady_clock::time_point deadline_;
  std::optional<NetNamespace> ns_;
  std::vector<UniqueFd> taps_;
  UniqueFd capture_;
  std::unique_ptr<GuestRam> ram_;
  std::string log_path_;
  NetDeviceRun device_;
  std::unique_ptr<VhostUserFrontend> frontend_;
  std::unique_ptr<NetDriver> driver_;
};

TEST_F(NetMonitorFrontendTest, HandshakeWithTwoPairsShowsTheGuestTheDevice) {
  connect(2, {"--mtu", "1400"});
  EXPECT_EQ(frontend_->device_type(), 1u) << "virtio-net";
  const uint64_t offered = frontend_->device_features();
  for (uint64_t wanted : {kVersion1, kMac, kMtu, kStatus, kMrgRxbuf, kCtrlVq, kMq, kCsum, kCtrlMacAddr}) {
    EXPECT_NE(offered & wanted, 0u) << "feature bit " << __builtin_ctzll(wanted) << " not offered";
  }
  EXPECT_EQ(offered & (kGuestUfo | kHostUfo), 0u) << "UFO is never offered";
  EXPECT_EQ(offered & bit(30), 0u) << "PROTOCOL_FEATURES is vhost-user's, not the guest's";
  EXPECT_EQ(frontend_->protocol_features() & bit(vhost_user::kProtocolMq), bit(vhost_user::kProtocolMq));
  EXPECT_EQ(frontend_->num_queues(), 5) << "rx0 tx0 rx1 tx1 ctrl";
  EXPECT_EQ(frontend_->max_queue_size(), 256);

  std::array<uint8_t, 12> config{};
  ASSERT_TRUE(frontend_->read_config(0, config).ok());
  EXPECT_TRUE(std::equal(kGuestMac.begin(), kGuestMac.end(), config.begin())) << "mac";
  EXPECT_EQ((config[6] | (config[7] << 8)) & 1, 1) << "status: VIRTIO_NET_S_LINK_UP";
  EXPECT_EQ(config[8] | (config[9] << 8), 2) << "max_virtqueue_pairs";
  EXPECT_EQ(config[10] | (config[11] << 8), 1400) << "mtu";
  // A guest reading field by field (a 2-byte read of mtu) sees the same.
  std::array<uint8_t, 2> mtu{};
  ASSERT_TRUE(frontend_->read_config(10, mtu).ok());
  EXPECT_EQ(mtu[0] | (mtu[1] << 8), 1400);
  EXPECT_FALSE(frontend_->failed());
}

TEST_F(NetMonitorFrontendTest, HandshakeWithOnePairHasNoMq) {
  connect(1);
  const uint64_t offered = frontend_->device_features();
  EXPECT_EQ(offered & kMq, 0u) << "one queue pair: the device offers no MQ";
  EXPECT_NE(offered & kCtrlVq, 0u) << "the control queue stays";
  EXPECT_EQ(frontend_->num_queues(), 3) << "rx0 tx0 ctrl";
  std::array<uint8_t, 12> config{};
  ASSERT_TRUE(frontend_->read_config(0, config).ok());
  EXPECT_EQ(config[8] | (config[9] << 8), 1) << "max_virtqueue_pairs";
  EXPECT_EQ(config[10] | (config[11] << 8), 1500) << "the device's default mtu";
}

TEST_F(NetMonitorFrontendTest, FramesFlowBothWaysThroughTheFrontend) {
  connect(1);
  activate(kDriverFeatures);
  // Guest -> namespace: the frame on the far side of the TAP, byte for byte.
  expect_sent(1, guest_frame("hello through the monitor's frontend"));
  // Namespace -> guest: a frame to the guest's MAC, in an RX buffer after the 12-byte header.
  ASSERT_TRUE(driver_->post_rx(0, 8, 2048).ok());
  const auto frame = udp_frame(kGuestMac, kHostMac, kHostIp, kGuestIp, 5555, 7000, bytes_of("hello, guest"));
  ASSERT_TRUE(inject(frame).ok());
  expect_received(0, frame);
  EXPECT_FALSE(frontend_->failed());
}

TEST_F(NetMonitorFrontendTest, ForeignSourceMacNeverReachesTheTap) {
  connect(1);
  activate(kDriverFeatures);
  const auto spoofed = guest_frame("spoofed", kForeignMac);
  auto used = driver_->send(1, spoofed);
  ASSERT_TRUE(used.ok()) << used.error().message() << "\n" << device_.log();  // returned, not sent
  const auto honest = guest_frame("honest");
  ASSERT_TRUE(driver_->send(1, honest).ok());
  // Everything on the wire up to the honest frame, and a little after it.
  std::vector<std::vector<uint8_t>> seen;
  EXPECT_TRUE(capture_frame(capture_.get(), fnv1a(honest), 2s, &seen)) << device_.log();
  capture_frame(capture_.get(), 0, 200ms, &seen);
  for (const auto& frame : seen) {
    ASSERT_GE(frame.size(), 12u);
    EXPECT_FALSE(std::equal(kForeignMac.begin(), kForeignMac.end(), frame.begin() + 6))
        << "a frame with the foreign source MAC reached the TAP";
  }
  const std::string log = stop();
  EXPECT_NE(log.find("tx_source_mac=1"), std::string::npos) << log;
  EXPECT_NE(log.find("tx 1 frames"), std::string::npos) << log;
}

TEST_F(NetMonitorFrontendTest, ControlQueueAnswersThroughTheFrontend) {
  connect(2);
  ASSERT_EQ(frontend_->num_queues(), 5);
  activate(kDriverFeatures | kMq);
  constexpr uint16_t kCtrl = 4;  // after rx0 tx0 rx1 tx1
  const uint8_t pairs[] = {kCtrlClassMq, kCtrlMqVqPairsSet, 2, 0};
  auto ack = driver_->control(kCtrl, pairs);
  ASSERT_TRUE(ack.ok()) << ack.error().message() << "\n" << device_.log();
  EXPECT_EQ(*ack, kCtrlOk) << "VQ_PAIRS_SET 2";
  const uint8_t mac_set[] = {kCtrlClassMac, kCtrlMacAddrSet, 0x52, 0x54, 0x00, 0x66, 0x66, 0x66};
  ack = driver_->control(kCtrl, mac_set);
  ASSERT_TRUE(ack.ok()) << ack.error().message();
  EXPECT_EQ(*ack, kCtrlErr) << "MAC_ADDR_SET without --allow-mac-change";
  // The MAC stayed: the configuration still says so, and frames from it still go out.
  std::array<uint8_t, 6> mac{};
  ASSERT_TRUE(frontend_->read_config(0, mac).ok());
  EXPECT_TRUE(std::equal(kGuestMac.begin(), kGuestMac.end(), mac.begin()));
  expect_sent(1, guest_frame("same mac after a refused MAC_ADDR_SET"));
  // Both pairs' TX queues carry traffic now.
  expect_sent(3, guest_frame("through the second pair"));
  const std::string log = stop();
  EXPECT_NE(log.find("the operator did not allow the guest to change its MAC"), std::string::npos) << log;
}

TEST_F(NetMonitorFrontendTest, ResetStopsTheQueuesAndANewActivateServesAgain) {
  connect(1);
  activate(kDriverFeatures);
  expect_sent(1, guest_frame("before the reset"));

  frontend_->reset();  // GET_VRING_BASE for each queue
  EXPECT_FALSE(frontend_->failed()) << frontend_->failure();
  EXPECT_TRUE(device_alive()) << device_.log();
  // The stopped TX queue takes nothing: a chain offered and kicked now stays unused and unsent.
  const auto ignored = guest_frame("while stopped");
  const uint16_t used_before = driver_->used_idx(1);
  ASSERT_TRUE(driver_->post_tx(1, ignored).ok());
  EXPECT_FALSE(capture_frame(capture_.get(), fnv1a(ignored), 300ms)) << "a stopped queue sent a frame";
  EXPECT_EQ(driver_->used_idx(1), used_before);
  EXPECT_TRUE(device_alive()) << device_.log();

  // The driver sets the device up again from zeroed rings; frames flow both ways.
  driver_->clear_rings();
  activate(kDriverFeatures);
  expect_sent(1, guest_frame("after the reset"));
  ASSERT_TRUE(driver_->post_rx(0, 8, 2048).ok());
  const auto frame = udp_frame(kGuestMac, kHostMac, kHostIp, kGuestIp, 5555, 7000, bytes_of("after the reset, inward"));
  ASSERT_TRUE(inject(frame).ok());
  expect_received(0, frame);
  // And once more, through a second reset.
  frontend_->reset();
  EXPECT_FALSE(frontend_->failed()) << frontend_->failure();
  driver_->clear_rings();
  activate(kDriverFeatures);
  expect_sent(1, guest_frame("after the second reset"));
}

// A packet the device read from the TAP while the guest had no RX buffers waits in the device.
// Its vnet header was fitted to the features of that time (here a partial checksum, allowed
// by GUEST_CSUM); after a reset the driver negotiates again, and a guest without GUEST_CSUM
// must never see NEEDS_CSUM (virtio 1.x 5.1.6.4.1). The device drops the held packet instead.
TEST_F(NetMonitorFrontendTest, APacketHeldAcrossAResetNeverReachesTheNewDriver) {
  connect(1);
  if ((frontend_->device_features() & kGuestCsum) == 0) GTEST_SKIP() << "this TAP takes no checksum offload";
  activate(kDriverFeatures | kCsum | kGuestCsum);
  const auto held = udp_frame(kGuestMac, kHostMac, kHostIp, kGuestIp, 5555, 7000, bytes_of("held over a reset"));
  std::vector<uint8_t> packet(kPacketVnetHeader);
  packet[0] = 1;   // NEEDS_CSUM
  packet[6] = 34;  // csum_start: the UDP header
  packet[8] = 6;   // csum_offset: its checksum field
  packet.insert(packet.end(), held.begin(), held.end());
  ASSERT_EQ(::send(capture_.get(), packet.data(), packet.size(), 0), static_cast<ssize_t>(packet.size()));
  std::this_thread::sleep_for(200ms);  // the device reads it and holds it: no RX buffers yet

  frontend_->reset();
  driver_->clear_rings();
  activate(kDriverFeatures);  // no GUEST_CSUM this time
  ASSERT_TRUE(driver_->post_rx(0, 8, 2048).ok());
  const auto fresh = udp_frame(kGuestMac, kHostMac, kHostIp, kGuestIp, 5555, 7000, bytes_of("after the reset"));
  ASSERT_TRUE(inject(fresh).ok());
  // The first packet the new driver sees is the fresh one, with a header it negotiated.
  auto first = driver_->receive(0, 2s);
  ASSERT_TRUE(first.ok()) << first.error().message() << "\n" << device_.log();
  EXPECT_EQ((*first)[0], 0) << "flags: NEEDS_CSUM for a driver without GUEST_CSUM";
  EXPECT_EQ(fnv1a(std::span<const uint8_t>(*first).subspan(kVnetHeaderBytes)), fnv1a(fresh))
      << "the packet held from before the reset was delivered";
}

// A device process that answers the handshake like bulwark-dev-net but lies about its queue
// pairs (a compromised one may): max_virtqueue_pairs and GET_QUEUE_NUM are its to choose. It
// may also leave out the CONFIG protocol feature, as DPDK's vhost backend does for net (it still
// answers GET_CONFIG if asked, and counts how often it was).
class LyingNetBackend {
 public:
  static constexpr uint64_t kProtocolFeatures =
      bit(vhost_user::kProtocolMq) | bit(vhost_user::kProtocolReplyAck) | bit(vhost_user::kProtocolConfig);
  static constexpr uint64_t kFeatures =
      kVersion1 | bit(vhost_user::kFeatureProtocolFeatures) | kMac | kMrgRxbuf | kStatus | kCtrlVq | kMq;

  LyingNetBackend(UniqueFd socket, uint16_t max_pairs, uint64_t queue_num,
                  uint64_t protocol_features = kProtocolFeatures, uint64_t features = kFeatures)
      : socket_(std::move(socket)),
        max_pairs_(max_pairs),
        queue_num_(queue_num),
        protocol_features_(protocol_features),
        features_(features) {
    thread_ = std::thread([this] { serve(); });
  }
  ~LyingNetBackend() {
    ::shutdown(socket_.get(), SHUT_RDWR);
    thread_.join();
  }
  int get_config_requests() const { return get_config_requests_.load(); }

 private:
  void serve() {
    for (;;) {
      auto request = vhost_user::receive_message(socket_.get());
      if (!request.ok()) return;
      std::optional<vhost_user::Message> reply;
      switch (static_cast<vhost_user::Request>(request->request)) {
        case vhost_user::Request::GET_FEATURES: reply = vhost_user::make_u64_reply(*request, features_); break;
        case vhost_user::Request::GET_PROTOCOL_FEATURES:
          reply = vhost_user::make_u64_reply(*request, protocol_features_);
          break;
        case vhost_user::Request::GET_QUEUE_NUM: reply = vhost_user::make_u64_reply(*request, queue_num_); break;
        case vhost_user::Request::GET_CONFIG: {
          ++get_config_requests_;
          auto config = vhost_user::parse_device_config(*request);
          if (!config.ok()) return;
          std::memcpy(config->bytes.data(), kGuestMac.data(), 6);
          config->bytes[6] = 1;
          std::memcpy(config->bytes.data() + 8, &max_pairs_, 2);
          const auto encoded = vhost_user::make_config_request(vhost_user::Request::GET_CONFIG, *config);
          reply = vhost_user::make_reply(*request, encoded.payload);
          break;
        }
        default:
          if (request->needs_reply()) reply = vhost_user::make_u64_reply(*request, 0);
          break;
      }
      if (reply && !vhost_user::send_message(socket_.get(), *reply).ok()) return;
    }
  }
  UniqueFd socket_;
  uint16_t max_pairs_;
  uint64_t queue_num_;
  uint64_t protocol_features_;
  uint64_t features_;
  std::atomic<int> get_config_requests_{0};
  std::thread thread_;
};

Result<std::unique_ptr<VhostUserFrontend>> connect_to_liar(const GuestRam& ram, uint16_t max_pairs,
                                                          uint64_t queue_num) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return Error::from_errno("socketpair", errno);
  UniqueFd ours(pair[0]);
  LyingNetBackend liar(UniqueFd(pair[1]), max_pairs, queue_num);
  vhost_user::FrontendOptions options;
  options.name = "vhost-user-net 0 (liar)";
  options.reply_timeout = 1s;
  return VhostUserFrontend::connect(std::move(ours), DeviceKind::kNet, ram.shared(), options);
}

TEST(NetMonitorFrontendLyingDevice, ZeroQueuePairsWithMqIsRefusedAtConnect) {
  auto ram = GuestRam::create();
  ASSERT_TRUE(ram.ok()) << ram.error().message();
  auto frontend = connect_to_liar(**ram, 0, 5);
  ASSERT_FALSE(frontend.ok()) << "a device with 0 queue pairs was accepted";
  EXPECT_NE(frontend.error().message().find("announces 0 queue pairs"), std::string::npos)
      << frontend.error().message();
  EXPECT_NE(frontend.error().message().find("vhost-user-net 0 (liar)"), std::string::npos)
      << "the message names the device: " << frontend.error().message();
}

TEST(NetMonitorFrontendLyingDevice, MorePairsThanQueuesServedIsRefusedAtConnect) {
  auto ram = GuestRam::create();
  ASSERT_TRUE(ram.ok()) << ram.error().message();
  auto frontend = connect_to_liar(**ram, 4, 5);  // 4 pairs need 9 queues
  ASSERT_FALSE(frontend.ok()) << "a device serving fewer queues than it announces was accepted";
  EXPECT_NE(frontend.error().message().find("needs 9 queues but serves 5"), std::string::npos)
      << frontend.error().message();
  // The honest version of the same device is accepted.
  auto honest = connect_to_liar(**ram, 2, 5);
  ASSERT_TRUE(honest.ok()) << honest.error().message();
  EXPECT_EQ((*honest)->num_queues(), 5);
}

// A net backend without the CONFIG protocol feature (DPDK's vhost library offers none for net)
// is accepted with every feature that gives a configuration field meaning masked off (MAC, MTU,
// STATUS, MQ), the control queue and what needs it too: one queue pair, an all-zero
// configuration the guest has no reason to read, and GET_CONFIG never sent.
TEST(NetMonitorFrontendLyingDevice, NoConfigProtocolFeatureLeavesOnePairAndNoConfigFeatures) {
  auto ram = GuestRam::create();
  ASSERT_TRUE(ram.ok()) << ram.error().message();
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  UniqueFd ours(pair[0]);
  constexpr uint64_t kGuestAnnounce = bit(21);
  // GET_QUEUE_NUM 128: DPDK 22.11 answers VHOST_MAX_QUEUE_PAIRS, whatever the port serves.
  LyingNetBackend backend(UniqueFd(pair[1]), 2, 128,
                          bit(vhost_user::kProtocolMq) | bit(vhost_user::kProtocolReplyAck),
                          LyingNetBackend::kFeatures | kMtu | kCtrlMacAddr | kGuestAnnounce | kCsum);
  vhost_user::FrontendOptions options;
  options.name = "vhost-user-net 0 (no config)";
  options.reply_timeout = 1s;
  auto frontend = VhostUserFrontend::connect(std::move(ours), DeviceKind::kNet, (*ram)->shared(), options);
  ASSERT_TRUE(frontend.ok()) << frontend.error().message();
  const uint64_t offered = (*frontend)->device_features();
  for (uint64_t masked : {kMac, kMtu, kStatus, kMq, kCtrlVq, kCtrlMacAddr, kGuestAnnounce}) {
    EXPECT_EQ(offered & masked, 0u) << "feature bit " << __builtin_ctzll(masked) << " offered without a configuration";
  }
  for (uint64_t kept : {kVersion1, kMrgRxbuf, kCsum}) {
    EXPECT_NE(offered & kept, 0u) << "feature bit " << __builtin_ctzll(kept) << " lost";
  }
  EXPECT_EQ((*frontend)->num_queues(), 2) << "rx0 tx0";
  EXPECT_EQ((*frontend)->protocol_features() & bit(vhost_user::kProtocolConfig), 0u);
  std::array<uint8_t, 12> config;
  config.fill(0xee);
  ASSERT_TRUE((*frontend)->read_config(0, config).ok());
  EXPECT_EQ(config, (std::array<uint8_t, 12>{}));
  EXPECT_EQ(backend.get_config_requests(), 0);
  EXPECT_FALSE((*frontend)->failed());
}

// More pairs than the monitor exposes: the device's control queue sits after its last pair, so
// exposing fewer would hand the guest one of its receive queues as the control queue.
TEST(NetMonitorFrontendLyingDevice, MorePairsThanTheMonitorExposesIsRefusedAtConnect) {
  auto ram = GuestRam::create();
  ASSERT_TRUE(ram.ok()) << ram.error().message();
  auto frontend = connect_to_liar(**ram, 10, 21);
  ASSERT_FALSE(frontend.ok()) << "a device with 10 queue pairs was accepted";
  EXPECT_NE(frontend.error().message().find("announces 10 queue pairs; the monitor exposes at most 8"),
            std::string::npos)
      << frontend.error().message();
}

}  // namespace
}  // namespace bulwark::test
