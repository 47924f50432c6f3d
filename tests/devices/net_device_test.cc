// The real bulwark-dev-net (seccomp enforced) on a TAP in a network namespace the test creates,
// driven by a guest-less vhost-user frontend: frames from the "guest" reach a UDP socket in the
// namespace, spoofed ones do not (and the device says why), frames from the namespace reach the
// guest's RX buffers with a correct vnet header, a megabyte each way keeps its hash, hostile
// chains and control commands are refused, and a rate limit makes a transfer take its time.
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <thread>

#include "devices/control/control_message.h"
#include "tests/devices/net_namespace.h"
#include "tests/devices/net_test_guest.h"

namespace bulwark::test {
namespace {

constexpr uint64_t bit(unsigned n) { return uint64_t{1} << n; }
// virtio-net feature bits.
constexpr uint64_t kCsum = bit(0), kGuestCsum = bit(1), kMtu = bit(3), kMac = bit(5), kGuestTso4 = bit(7),
                   kHostTso4 = bit(11), kMrgRxbuf = bit(15), kStatus = bit(16), kCtrlVq = bit(17),
                   kCtrlRx = bit(18), kGuestAnnounce = bit(21), kMq = bit(22), kCtrlMacAddr = bit(23);
constexpr uint64_t kBasic = kMac | kMtu | kStatus | kCtrlVq | kCtrlRx | kCtrlMacAddr | kGuestAnnounce;

const Mac kGuestMac{0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
const Mac kHostMac{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
const Mac kForeignMac{0x52, 0x54, 0x00, 0x66, 0x66, 0x66};
constexpr const char* kGuestIp = "10.99.0.2";
constexpr const char* kHostIp = "10.99.0.1";
constexpr uint16_t kHostPort = 5555;
constexpr uint16_t kGuestPort = 7000;

// Waits for one datagram on `fd`; empty when none came in time.
std::vector<uint8_t> receive_datagram(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return {};
  std::vector<uint8_t> data(65536);
  const ssize_t n = ::recv(fd, data.data(), data.size(), 0);
  if (n < 0) return {};
  data.resize(static_cast<size_t>(n));
  return data;
}

Status send_datagram(int fd, const char* ip, uint16_t port, std::span<const uint8_t> payload) {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  ::inet_pton(AF_INET, ip, &to.sin_addr);
  if (::sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) !=
      static_cast<ssize_t>(payload.size())) {
    return Error::from_errno("sendto", errno);
  }
  return ok_status();
}

// enforce, or record under `bulwark policy record` (BULWARK_NET_TEST_SECCOMP=record, for
// `bulwark policy minimality` of dev-net.policy).
std::string seccomp_mode() {
  const char* mode = std::getenv("BULWARK_NET_TEST_SECCOMP");
  return mode != nullptr && std::string(mode) == "record" ? "record" : "enforce";
}

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

// The ones'-complement sum of UDP over IPv4 with its pseudo header: 0xffff when the checksum
// in the datagram is right.
uint16_t udp_checksum_sum(std::span<const uint8_t> frame) {
  const uint8_t* ip = frame.data() + 14;
  const size_t ihl = (ip[0] & 0xf) * 4u;
  const uint8_t* udp = ip + ihl;
  const uint16_t udp_len = be16(udp + 4);
  uint32_t sum = be16(ip + 12) + be16(ip + 14) + be16(ip + 16) + be16(ip + 18) + 17 + udp_len;
  for (size_t i = 0; i + 1 < udp_len; i += 2) sum += be16(udp + i);
  if (udp_len % 2) sum += uint32_t{udp[udp_len - 1]} << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

class NetDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    auto ns = NetNamespace::create(std::string(kHostIp) + "/24", "02:00:00:00:00:01");
    ASSERT_TRUE(ns.ok()) << ns.error().message();
    ns_.emplace(std::move(*ns));
    ASSERT_TRUE(ns_->ip({"neigh", "add", kGuestIp, "lladdr", "52:54:00:12:34:56", "dev", NetNamespace::kTap,
                         "nud", "permanent"}).ok());
    auto tap = ns_->open_tap_queue();
    ASSERT_TRUE(tap.ok()) << tap.error().message();
    tap_ = std::move(*tap);
    auto host = ns_->udp_socket(kHostIp, kHostPort);
    ASSERT_TRUE(host.ok()) << host.error().message();
    host_ = std::move(*host);
    log_path_ = std::filesystem::temp_directory_path() /
                ("bulwark-net-" + std::to_string(::getpid()) + "-" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".log");
  }
  void TearDown() override {
    guest_.reset();
    device_.socket.reset();
    if (device_.pid > 0) device_.wait(std::chrono::seconds(5));
    std::filesystem::remove(log_path_);
    tap_.reset();
    ns_.reset();
    EXPECT_LT(std::chrono::steady_clock::now(), deadline_) << "the test ran past its own deadline";
  }

  // Starts the device (kBasic features) with a control channel on fd 50, as the launcher
  // passes one; `launcher_end` is the launcher's side.
  void start_with_control_channel(UniqueFd& launcher_end) {
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    launcher_end = UniqueFd(pair[0]);
    UniqueFd cloexec_end(pair[1]);
    UniqueFd device_end(::fcntl(cloexec_end.get(), F_DUPFD, 50));  // inherited by the device
    ASSERT_EQ(device_end.get(), 50);
    cloexec_end.reset();
    start(kBasic, {"--control-fd", "50"});
  }
  void start(uint64_t features, std::vector<std::string> args = {}) {
    std::vector<std::string> all{"--mac", "52:54:00:12:34:56", "--mtu", "1500", "--seccomp", seccomp_mode()};
    all.insert(all.end(), args.begin(), args.end());
    auto device = start_net_device({tap_.get()}, all, log_path_);
    ASSERT_TRUE(device.ok()) << device.error().message();
    device_ = std::move(*device);
    auto guest = NetTestGuest::start(UniqueFd(::dup(device_.socket.get())), features);
    ASSERT_TRUE(guest.ok()) << guest.error().message() << "\n" << device_.log();
    guest_ = std::move(*guest);
  }
  // Disconnects the frontend and returns the device's log (its last line is the summary).
  std::string stop() {
    guest_.reset();
    device_.socket.reset();
    const int status = device_.wait(std::chrono::seconds(5));
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "wait status " << status << "\n" << device_.log();
    const std::string log = device_.log();
    // Sanitizer builds: the device itself must have run clean.
    EXPECT_EQ(log.find("runtime error"), std::string::npos) << log;
    EXPECT_EQ(log.find("Sanitizer"), std::string::npos) << log;
    return log;
  }
  // The TAP's counters and qdisc, for failure messages.
  std::string tap_stats() {
    auto stats = run_command({"/usr/sbin/ip", "-n", ns_->name(), "-s", "-d", "link", "show", NetNamespace::kTap});
    return stats.ok() ? *stats : stats.error().message();
  }
  // The next RX packet that is a UDP datagram to the guest's test port.
  Result<std::vector<uint8_t>> receive_udp(std::chrono::milliseconds timeout) {
    for (int i = 0; i < 16; ++i) {
      auto packet = guest_->receive(timeout);
      if (!packet.ok()) return packet.error().wrap(tap_stats());
      const auto& p = *packet;
      if (p.size() >= 12 + 42 && be16(&p[12 + 12]) == 0x0800 && p[12 + 23] == 17 && be16(&p[12 + 36]) == kGuestPort) {
        return packet;
      }
    }
    return Error("only other frames arrived");
  }
  std::vector<uint8_t> guest_frame(const std::string& payload, const Mac& src = kGuestMac,
                                   const std::string& src_ip = kGuestIp) {
    return udp_frame(kHostMac, src, src_ip, kHostIp, 4000, kHostPort,
                     std::span(reinterpret_cast<const uint8_t*>(payload.data()), payload.size()));
  }

  // 120 UDP frames of 1000 bytes from the guest to the host's socket, with the device's tx
  // limit in force: how long the guest's sends took. A limit holds frames back; none may drop.
  void send_120_frames_through_the_tx_limit(std::chrono::steady_clock::duration& took) {
    std::vector<uint8_t> payload(1000 - 42, 0x42);
    const auto frame = udp_frame(kHostMac, kGuestMac, kGuestIp, kHostIp, 4000, kHostPort, payload);
    std::atomic<int> arrived{0};
    std::thread sink([&] {
      while (arrived < 120 && !receive_datagram(host_.get(), std::chrono::seconds(5)).empty()) ++arrived;
    });
    const auto begin = std::chrono::steady_clock::now();
    for (int i = 0; i < 120; ++i) {
      if (!guest_->send_frame(frame).ok()) {
        sink.join();
        FAIL() << "frame " << i << " was not sent\n" << device_.log();
      }
    }
    took = std::chrono::steady_clock::now() - begin;
    sink.join();
    EXPECT_EQ(arrived.load(), 120) << "back-pressure must not drop anything";
  }

  std::chrono::steady_clock::time_point deadline_;
  std::optional<NetNamespace> ns_;
  UniqueFd tap_;
  UniqueFd host_;
  std::string log_path_;
  NetDeviceRun device_;
  std::unique_ptr<NetTestGuest> guest_;
};

TEST_F(NetDeviceTest, GuestFrameReachesTheNamespace) {
  start(kBasic | kMrgRxbuf);
  const uint64_t offered = guest_->offered();
  for (uint64_t wanted : {kMac, kMtu, kStatus, kMrgRxbuf, kCsum, kHostTso4, kCtrlVq}) {
    EXPECT_NE(offered & wanted, 0u) << "feature " << wanted << " not offered";
  }
  EXPECT_EQ(offered & kMq, 0u) << "one queue pair: MQ must not be offered";
  // The configuration space: MAC, status link up, one pair, MTU.
  auto config = guest_->frontend().call(vhost_user::make_config_request(
      vhost_user::Request::GET_CONFIG, vhost_user::DeviceConfig{0, 12, 0, std::vector<uint8_t>(12)}));
  ASSERT_TRUE(config.ok()) << config.error().message();
  auto parsed = vhost_user::parse_device_config(*config);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(std::vector<uint8_t>(parsed->bytes.begin(), parsed->bytes.begin() + 6),
            std::vector<uint8_t>(kGuestMac.begin(), kGuestMac.end()));
  EXPECT_EQ(parsed->bytes[6] | (parsed->bytes[7] << 8), 1);          // VIRTIO_NET_S_LINK_UP
  EXPECT_EQ(parsed->bytes[8] | (parsed->bytes[9] << 8), 1);          // max_virtqueue_pairs
  EXPECT_EQ(parsed->bytes[10] | (parsed->bytes[11] << 8), 1500);     // mtu

  const auto frame = guest_frame("hello from the guest");
  ASSERT_TRUE(guest_->send_frame(frame).ok()) << device_.log();
  const auto got = receive_datagram(host_.get(), std::chrono::seconds(2));
  EXPECT_EQ(std::string(got.begin(), got.end()), "hello from the guest") << device_.log();
  // The same frame cut into 3 descriptors after the header.
  ASSERT_TRUE(guest_->send(std::array<uint8_t, 12>{}, frame, 3).ok());
  const auto again = receive_datagram(host_.get(), std::chrono::seconds(2));
  EXPECT_EQ(std::string(again.begin(), again.end()), "hello from the guest");
  const std::string log = stop();
  EXPECT_NE(log.find("tx 2 frames"), std::string::npos) << log;
  EXPECT_NE(log.find("drops: none"), std::string::npos) << log;
}

TEST_F(NetDeviceTest, SpoofedFramesNeverArriveAndTheDeviceSaysWhy) {
  start(kBasic, {"--allowed-ip", "10.99.0.2/32"});
  // A foreign source MAC, a foreign source IP, and a forged ARP reply claiming the host's IP.
  ASSERT_TRUE(guest_->send_frame(guest_frame("foreign mac", kForeignMac)).ok());
  ASSERT_TRUE(guest_->send_frame(guest_frame("foreign ip", kGuestMac, "10.99.0.77")).ok());
  std::vector<uint8_t> arp(42);
  std::memcpy(arp.data(), kHostMac.data(), 6);
  std::memcpy(arp.data() + 6, kGuestMac.data(), 6);
  const uint8_t arp_body[] = {0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2};
  std::memcpy(arp.data() + 12, arp_body, sizeof arp_body);
  std::memcpy(arp.data() + 22, kGuestMac.data(), 6);
  ::inet_pton(AF_INET, kHostIp, arp.data() + 28);  // "10.99.0.1 is at the guest's MAC"
  std::memcpy(arp.data() + 32, kHostMac.data(), 6);
  ::inet_pton(AF_INET, kHostIp, arp.data() + 38);
  ASSERT_TRUE(guest_->send_frame(arp).ok());
  // And an honest one, which must arrive (and be the only one).
  ASSERT_TRUE(guest_->send_frame(guest_frame("honest")).ok());
  const auto got = receive_datagram(host_.get(), std::chrono::seconds(2));
  EXPECT_EQ(std::string(got.begin(), got.end()), "honest");
  EXPECT_TRUE(receive_datagram(host_.get(), std::chrono::milliseconds(300)).empty());
  // The host's neighbour table still maps 10.99.0.1 to itself, nothing learned from the forgery.
  const std::string log = stop();
  EXPECT_NE(log.find("tx frame dropped, source_mac"), std::string::npos) << log;
  EXPECT_NE(log.find("tx frame dropped, ipv4_source"), std::string::npos) << log;
  EXPECT_NE(log.find("tx_source_mac=1"), std::string::npos) << log;
  EXPECT_NE(log.find("tx_ipv4_source=1"), std::string::npos) << log;
  EXPECT_NE(log.find("tx_arp_spoof=1"), std::string::npos) << log;
  EXPECT_NE(log.find("tx 1 frames"), std::string::npos) << log;
}

TEST_F(NetDeviceTest, NamespaceFrameReachesTheGuestWithItsVnetHeader) {
  start(kBasic | kMrgRxbuf);
  guest_->post_rx_buffers(8, 2048);
  const std::string payload = "hello from the namespace";
  ASSERT_TRUE(send_datagram(host_.get(), kGuestIp, kGuestPort,
                            std::span(reinterpret_cast<const uint8_t*>(payload.data()), payload.size())).ok());
  auto packet = receive_udp(std::chrono::seconds(2));
  ASSERT_TRUE(packet.ok()) << packet.error().message() << "\n" << device_.log();
  const auto& p = *packet;
  ASSERT_EQ(p.size(), 12 + 42 + payload.size());
  EXPECT_EQ(p[0], 0) << "flags: GUEST_CSUM was not negotiated";
  EXPECT_EQ(p[1], 0) << "gso_type: no GSO negotiated";
  EXPECT_EQ(p[10] | (p[11] << 8), 1) << "num_buffers";
  EXPECT_TRUE(std::equal(kGuestMac.begin(), kGuestMac.end(), p.begin() + 12)) << "destination MAC";
  EXPECT_EQ(std::string(p.end() - static_cast<long>(payload.size()), p.end()), payload);
  const std::span<const uint8_t> frame(p.data() + 12, p.size() - 12);
  EXPECT_EQ(udp_checksum_sum(frame), 0xffff) << "the UDP checksum must be complete without GUEST_CSUM";
}

TEST_F(NetDeviceTest, ChecksumOffloadTowardTheGuestIsCompletable) {
  start(kBasic | kMrgRxbuf | kGuestCsum | kCsum);
  if ((guest_->offered() & kGuestCsum) == 0) GTEST_SKIP() << "this TAP takes no checksum offload";
  guest_->post_rx_buffers(8, 2048);
  std::vector<uint8_t> payload(777);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i * 13);
  ASSERT_TRUE(send_datagram(host_.get(), kGuestIp, kGuestPort, payload).ok());
  auto packet = receive_udp(std::chrono::seconds(2));
  ASSERT_TRUE(packet.ok()) << packet.error().message() << "\n" << device_.log() << "\n"
                           << [&] {
                                auto stats = run_command({"/usr/sbin/ip", "-n", ns_->name(), "-s", "-d", "link", "show", "tap0"});
                                return stats.ok() ? *stats : stats.error().message();
                              }();
  auto& p = *packet;
  std::span<uint8_t> frame(p.data() + 12, p.size() - 12);
  if ((p[0] & 1) != 0) {
    // NEEDS_CSUM: complete it as a driver does, then the datagram must verify.
    const uint16_t start = static_cast<uint16_t>(p[6] | (p[7] << 8));
    const uint16_t offset = static_cast<uint16_t>(p[8] | (p[9] << 8));
    ASSERT_LE(size_t{start} + offset + 2, frame.size());
    uint32_t sum = 0;
    for (size_t i = start; i + 1 < frame.size(); i += 2) sum += be16(&frame[i]);
    if ((frame.size() - start) % 2) sum += uint32_t{frame.back()} << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    const uint16_t folded = static_cast<uint16_t>(~sum);
    frame[start + offset] = static_cast<uint8_t>(folded >> 8);
    frame[start + offset + 1] = static_cast<uint8_t>(folded);
  }
  EXPECT_EQ(udp_checksum_sum(frame), 0xffff) << "flags " << int(p[0]) << " csum_start " << (p[6] | (p[7] << 8))
                                             << " csum_offset " << (p[8] | (p[9] << 8)) << " frame " << frame.size();
  EXPECT_TRUE(std::equal(payload.begin(), payload.end(), p.end() - static_cast<long>(payload.size())));
}

TEST_F(NetDeviceTest, AMegabyteEachWayKeepsItsHash) {
  start(kBasic | kMrgRxbuf);
  constexpr size_t kChunk = 1024, kChunks = 1024;  // 1 MiB
  std::vector<uint8_t> data(kChunk * kChunks);
  uint64_t x = 88172645463325252ull;
  for (auto& b : data) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    b = static_cast<uint8_t>(x);
  }
  const uint64_t want = fnv1a(data);

  // Guest -> namespace.
  std::vector<uint8_t> received;
  std::thread sink([&] {
    while (received.size() < data.size()) {
      auto d = receive_datagram(host_.get(), std::chrono::seconds(5));
      if (d.empty()) return;
      received.insert(received.end(), d.begin(), d.end());
    }
  });
  for (size_t i = 0; i < kChunks; ++i) {
    const auto frame = udp_frame(kHostMac, kGuestMac, kGuestIp, kHostIp, 4000, kHostPort,
                                 std::span(data.data() + i * kChunk, kChunk));
    Status sent = guest_->send_frame(frame);
    if (!sent.ok()) {
      ADD_FAILURE() << sent.error().message();
      break;
    }
  }
  sink.join();
  EXPECT_EQ(received.size(), data.size());
  EXPECT_EQ(fnv1a(received), want) << "guest -> namespace";

  // Namespace -> guest, through 512-byte buffers (each datagram spans three: MRG_RXBUF).
  guest_->post_rx_buffers(16, 512);
  std::atomic<size_t> delivered{0};
  std::atomic<bool> stop_sending{false};
  UniqueFd sender(::dup(host_.get()));
  std::thread source([&] {
    for (size_t i = 0; i < kChunks && !stop_sending; ++i) {
      while (i >= delivered + 32 && !stop_sending) std::this_thread::sleep_for(std::chrono::microseconds(50));
      (void)send_datagram(sender.get(), kGuestIp, kGuestPort, std::span(data.data() + i * kChunk, kChunk));
    }
  });
  std::vector<uint8_t> into_guest;
  size_t max_buffers = 0;
  while (into_guest.size() < data.size()) {
    auto packet = receive_udp(std::chrono::seconds(5));
    if (!packet.ok()) {
      ADD_FAILURE() << packet.error().message() << " after " << into_guest.size() << " bytes\n" << device_.log();
      break;
    }
    max_buffers = std::max<size_t>(max_buffers, (*packet)[10] | ((*packet)[11] << 8));
    into_guest.insert(into_guest.end(), packet->begin() + 12 + 42, packet->end());
    ++delivered;
  }
  stop_sending = true;
  source.join();
  EXPECT_EQ(into_guest.size(), data.size());
  EXPECT_EQ(fnv1a(into_guest), want) << "namespace -> guest";
  EXPECT_EQ(max_buffers, 3u) << "a 1078-byte packet in 512-byte buffers";
  const std::string log = stop();
  EXPECT_NE(log.find("tx 1024 frames"), std::string::npos) << log;
}

TEST_F(NetDeviceTest, RxBuffersTooSmallAreCountedAndNeverOverrun) {
  start(kBasic);  // no MRG_RXBUF: a packet must fit one chain
  guest_->post_rx_buffers(4, 64);
  // A canary right after the last buffer.
  uint8_t* canary = guest_->frontend().guest(guest_->frontend().allocate(64));
  std::memset(canary, 0xa5, 64);
  std::vector<uint8_t> payload(200, 0x11);
  ASSERT_TRUE(send_datagram(host_.get(), kGuestIp, kGuestPort, payload).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(guest_->rx_used(), 0) << "nothing delivered into buffers too small";
  for (int i = 0; i < 64; ++i) ASSERT_EQ(canary[i], 0xa5);
  const std::string log = stop();
  EXPECT_NE(log.find("rx_buffers_too_small=1"), std::string::npos) << log;
}

TEST_F(NetDeviceTest, HostileTxChainsAreDroppedOrFailTheQueue) {
  start(kBasic);  // HOST_TSO4 and CSUM not negotiated
  // A TSO header the guest did not negotiate.
  std::array<uint8_t, 12> tso{};
  tso[0] = 1;         // NEEDS_CSUM
  tso[1] = 1;         // GSO_TCPV4
  tso[4] = 200;       // gso_size
  ASSERT_TRUE(guest_->send(tso, guest_frame("tso")).ok());
  // A checksum offset outside the frame (CSUM not negotiated either).
  std::array<uint8_t, 12> csum{};
  csum[0] = 1;
  csum[6] = 0xff;
  csum[7] = 0xff;
  ASSERT_TRUE(guest_->send(csum, guest_frame("csum")).ok());
  // A frame longer than the MTU without GSO.
  Status oversize = guest_->send_frame(guest_frame(std::string(1600, 'x')));
  ASSERT_TRUE(oversize.ok()) << oversize.error().message() << "\n" << device_.log();
  // A chain shorter than a vnet header.
  ASSERT_TRUE(guest_->send(std::span<const uint8_t>(tso.data(), 4), {}).ok());
  EXPECT_TRUE(receive_datagram(host_.get(), std::chrono::milliseconds(200)).empty());
  // The device still serves: an honest frame passes.
  ASSERT_TRUE(guest_->send_frame(guest_frame("still here")).ok());
  const auto got = receive_datagram(host_.get(), std::chrono::seconds(2));
  EXPECT_EQ(std::string(got.begin(), got.end()), "still here");
  // A descriptor outside guest memory breaks the TX queue: it fails (ERR eventfd), the rest runs.
  TestFrontend& f = guest_->frontend();
  f.write_descriptor(NetTestGuest::kTx, 0, TestFrontend::kMemoryBytes - 8, 4096, 0, 0);
  f.offer(NetTestGuest::kTx, 0);
  ASSERT_TRUE(f.kick(NetTestGuest::kTx).ok());
  EXPECT_TRUE(TestFrontend::wait_eventfd(f.err_fd(NetTestGuest::kTx), std::chrono::seconds(2))) << device_.log();
  auto ack = guest_->control(std::array<uint8_t, 3>{0, 0, 1});  // RX PROMISC on
  ASSERT_TRUE(ack.ok()) << ack.error().message();
  EXPECT_EQ(*ack, 0);
  const std::string log = stop();
  EXPECT_NE(log.find("tx_bad_vnet_header=2"), std::string::npos) << log;
  EXPECT_NE(log.find("tx_bad_chain=1"), std::string::npos) << log;
  EXPECT_NE(log.find("tx_oversize=1"), std::string::npos) << log;
  EXPECT_NE(log.find("queue 1 stopped"), std::string::npos) << log;
}

TEST_F(NetDeviceTest, ControlQueueRefusesWhatTheGuestMayNotDo) {
  start(kBasic);
  const uint8_t promisc[] = {0, 0, 1};
  const uint8_t mac_set[] = {1, 1, 0x52, 0x54, 0, 0x66, 0x66, 0x66};
  const uint8_t pairs[] = {4, 0, 2, 0};            // MQ not negotiated, and only 1 pair offered
  const uint8_t unknown[] = {9, 9};
  const uint8_t truncated_table[] = {1, 0, 5, 0, 0, 0};  // says 5 unicast entries, has none
  const uint8_t announce_ack[] = {3, 0};
  const uint8_t mac_table[] = {1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0x01, 0x00, 0x5e, 0, 0, 1};
  struct Case {
    std::span<const uint8_t> command;
    uint8_t ack;
    const char* what;
  } cases[] = {{promisc, 0, "promiscuous on (acknowledged, never widens delivery)"},
               {mac_set, 1, "MAC_ADDR_SET without the operator's permission"},
               {pairs, 1, "VQ_PAIRS_SET without MQ"},
               {unknown, 1, "an unknown class"},
               {truncated_table, 1, "a MAC table shorter than it says"},
               {announce_ack, 0, "announce ack"},
               {mac_table, 0, "a MAC table"}};
  for (const Case& c : cases) {
    auto ack = guest_->control(c.command);
    ASSERT_TRUE(ack.ok()) << c.what << ": " << ack.error().message();
    EXPECT_EQ(*ack, c.ack) << c.what;
  }
  // A MAC written to the configuration space is refused too (REPLY_ACK: the frontend hears it).
  auto written = guest_->frontend().call(vhost_user::make_config_request(
      vhost_user::Request::SET_CONFIG, vhost_user::DeviceConfig{0, 6, 0, {0x52, 0x54, 0, 0x66, 0x66, 0x66}}, true));
  EXPECT_FALSE(written.ok()) << "SET_CONFIG of the MAC must be refused";
  // The MAC did not change: the old one still passes, the new one is still foreign.
  ASSERT_TRUE(guest_->send_frame(guest_frame("same mac")).ok());
  const auto got = receive_datagram(host_.get(), std::chrono::seconds(2));
  EXPECT_EQ(std::string(got.begin(), got.end()), "same mac");
  // A command with no room for its ack breaks the control queue.
  TestFrontend& f = guest_->frontend();
  f.write_descriptor(NetTestGuest::kCtrl, 0, f.allocate(16), 3, 0, 0);
  f.offer(NetTestGuest::kCtrl, 0);
  ASSERT_TRUE(f.kick(NetTestGuest::kCtrl).ok());
  EXPECT_TRUE(TestFrontend::wait_eventfd(f.err_fd(NetTestGuest::kCtrl), std::chrono::seconds(2))) << device_.log();
  const std::string log = stop();
  EXPECT_NE(log.find("the operator did not allow the guest to change its MAC"), std::string::npos) << log;
  EXPECT_NE(log.find("ctrl_refused=5"), std::string::npos) << log;
}

TEST_F(NetDeviceTest, MacChangeWhenTheOperatorAllowsIt) {
  start(kBasic, {"--allow-mac-change"});
  const uint8_t mac_set[] = {1, 1, 0x52, 0x54, 0, 0x66, 0x66, 0x66};
  auto ack = guest_->control(mac_set);
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(*ack, 0);
  ASSERT_TRUE(guest_->send_frame(guest_frame("new mac", kForeignMac)).ok());
  const auto got = receive_datagram(host_.get(), std::chrono::seconds(2));
  EXPECT_EQ(std::string(got.begin(), got.end()), "new mac");
}

TEST_F(NetDeviceTest, RateLimitedTransferTakesAtLeastWhatTheBucketAllows) {
  // 20000 bytes per 100 ms (200 kB/s), starting full: 120 frames of 1000 bytes need >= 0.5 s.
  start(kBasic, {"--tx-bytes", "20000:100"});
  std::chrono::steady_clock::duration took{};
  ASSERT_NO_FATAL_FAILURE(send_120_frames_through_the_tx_limit(took));
  EXPECT_GE(took, std::chrono::milliseconds(450));
  EXPECT_LT(took, std::chrono::seconds(5));
}

// The launcher's control channel (devices/README.md): its end for the device is inherited at
// fd 50 (not close-on-exec, out of the way of the fds start_net_device places).
Result<devctl::ControlReply> net_control_exchange(int fd, std::span<const uint8_t> bytes,
                                                  devctl::Op answered = devctl::Op::kSetRateLimit) {
  if (::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(bytes.size())) {
    return Error::from_errno("send", errno);
  }
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 5000) != 1) return Error("no answer within 5 s");
  devctl::Message answer{};
  if (::recv(fd, answer.data(), answer.size(), MSG_WAITALL) != static_cast<ssize_t>(answer.size())) return Error("short answer");
  return devctl::decode_reply(answer, answered);
}

TEST_F(NetDeviceTest, ATxLimitSetOnTheControlChannelAtRunTimeHoldsTheTransferBack) {
  UniqueFd launcher_end;
  ASSERT_NO_FATAL_FAILURE(start_with_control_channel(launcher_end));

  // Garbage first: answered "malformed", nothing changes.
  devctl::Message garbage = devctl::encode_command({devctl::Op::kSetRateLimit, {}});
  garbage[0] = 9;
  auto bad = net_control_exchange(launcher_end.get(), garbage);
  ASSERT_TRUE(bad.ok()) << bad.error().message() << "\n" << device_.log();
  EXPECT_EQ(bad->status, devctl::ControlStatus::kMalformed);

  devctl::ControlCommand set{devctl::Op::kSetRateLimit, {}};
  set.buckets[2] = {20000, 0, 100};  // tx bytes: 20000 per 100 ms, as the --tx-bytes test
  const devctl::Message set_bytes = devctl::encode_command(set);
  auto reply = net_control_exchange(launcher_end.get(), set_bytes);
  ASSERT_TRUE(reply.ok()) << reply.error().message();
  EXPECT_EQ(reply->status, devctl::ControlStatus::kOk);
  EXPECT_EQ(reply->buckets[2].size, 20000u);

  std::chrono::steady_clock::duration took{};
  ASSERT_NO_FATAL_FAILURE(send_120_frames_through_the_tx_limit(took));
  EXPECT_GE(took, std::chrono::milliseconds(450)) << "the run-time limit did not hold the transfer back";
  const std::string log = stop();
  EXPECT_NE(log.find("rate limit set: rx bytes none, rx packets none, tx bytes 20000:100:0, tx packets none"),
            std::string::npos) << log;
}

// Pause on the control channel: the guest's frame stays on its TX ring and a frame from the
// namespace stays out of its RX buffers until Resume; then both go through (the kick that came
// while paused is not lost). GetStats counts them.
TEST_F(NetDeviceTest, FramesWaitWhilePausedAndGoThroughOnResume) {
  UniqueFd launcher_end;
  ASSERT_NO_FATAL_FAILURE(start_with_control_channel(launcher_end));
  auto command = [&launcher_end](devctl::Op op) {
    const devctl::Message bytes = devctl::encode_command({op, {}});
    return net_control_exchange(launcher_end.get(), bytes, op);
  };
  guest_->post_rx_buffers(8, 2048);
  auto paused = command(devctl::Op::kPause);
  ASSERT_TRUE(paused.ok()) << paused.error().message() << "\n" << device_.log();
  EXPECT_EQ(paused->status, devctl::ControlStatus::kOk);

  const std::string inbound = "to the paused guest";
  ASSERT_TRUE(send_datagram(host_.get(), kGuestIp, kGuestPort,
                            std::span(reinterpret_cast<const uint8_t*>(inbound.data()), inbound.size())).ok());
  EXPECT_FALSE(guest_->receive(std::chrono::milliseconds(500)).ok()) << "RX while paused";
  // The guest's send waits for its chain to be used: in a thread, while the test watches.
  std::atomic<bool> sent{false};
  Status send_status;
  std::thread sender([&]() {
    send_status = guest_->send_frame(guest_frame("from the paused guest"));
    sent = true;
  });
  EXPECT_TRUE(receive_datagram(host_.get(), std::chrono::milliseconds(700)).empty()) << "TX while paused";
  EXPECT_FALSE(sent.load()) << "the TX chain was used while paused";

  auto resumed = command(devctl::Op::kResume);
  ASSERT_TRUE(resumed.ok()) << resumed.error().message();
  EXPECT_EQ(resumed->status, devctl::ControlStatus::kOk);
  const auto out = receive_datagram(host_.get(), std::chrono::seconds(5));
  EXPECT_EQ(std::string(out.begin(), out.end()), "from the paused guest");
  sender.join();
  EXPECT_TRUE(send_status.ok()) << send_status.error().message();
  auto in = receive_udp(std::chrono::seconds(5));
  ASSERT_TRUE(in.ok()) << in.error().message() << "\n" << device_.log();
  EXPECT_EQ(std::string(in->end() - static_cast<long>(inbound.size()), in->end()), inbound);

  auto stats = command(devctl::Op::kGetStats);
  ASSERT_TRUE(stats.ok()) << stats.error().message();
  EXPECT_EQ(stats->counters[devctl::kNetTxFrames], 1u);
  EXPECT_GE(stats->counters[devctl::kNetRxFrames], 1u);  // the host's own frames (IPv6) may come too
  EXPECT_EQ(stats->counters[devctl::kNetTxBytes], 14u + 20u + 8u + 21u);
  EXPECT_EQ(stats->counters[devctl::kNetFilterDrops], 0u);
  const std::string log = stop();
  EXPECT_NE(log.find("paused: the rings wait until Resume"), std::string::npos) << log;
  EXPECT_NE(log.find("resumed: serving the rings again"), std::string::npos) << log;
}

// An Ethernet + IPv4 + TCP frame of `payload` (ACK|PSH), as a TSO sender hands it down: one
// frame far larger than the MTU, to be cut into gso_size segments by whoever does segmentation.
std::vector<uint8_t> tcp_frame(const Mac& dst, const Mac& src, const char* src_ip, const char* dst_ip,
                               std::span<const uint8_t> payload) {
  std::vector<uint8_t> frame(14 + 20 + 20 + payload.size());
  std::memcpy(frame.data(), dst.data(), 6);
  std::memcpy(frame.data() + 6, src.data(), 6);
  frame[12] = 0x08;
  uint8_t* ip = frame.data() + 14;
  const uint16_t total = static_cast<uint16_t>(40 + payload.size());
  ip[0] = 0x45;
  ip[2] = static_cast<uint8_t>(total >> 8);
  ip[3] = static_cast<uint8_t>(total);
  ip[6] = 0x40;
  ip[8] = 64;
  ip[9] = 6;
  ::inet_pton(AF_INET, src_ip, ip + 12);
  ::inet_pton(AF_INET, dst_ip, ip + 16);
  uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += be16(ip + i);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  ip[10] = static_cast<uint8_t>(~sum >> 8);
  ip[11] = static_cast<uint8_t>(~sum);
  uint8_t* tcp = ip + 20;
  tcp[0] = 0x9c, tcp[1] = 0x40;  // port 40000
  tcp[2] = 0x1f, tcp[3] = 0x90;  // port 8080
  tcp[7] = 1;                    // seq 1
  tcp[11] = 1;                   // ack 1
  tcp[12] = 5 << 4;
  tcp[13] = 0x18;  // ACK | PSH
  tcp[14] = 0xff, tcp[15] = 0xff;
  // The pseudo-header sum, not complemented: what a sender leaves for checksum offload.
  uint32_t pseudo = be16(ip + 12) + be16(ip + 14) + be16(ip + 16) + be16(ip + 18) + 6 + (total - 20);
  while (pseudo >> 16) pseudo = (pseudo & 0xffff) + (pseudo >> 16);
  tcp[16] = static_cast<uint8_t>(pseudo >> 8);
  tcp[17] = static_cast<uint8_t>(pseudo);
  std::memcpy(tcp + 20, payload.data(), payload.size());
  return frame;
}

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> bytes(n);
  for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<uint8_t>(i * 31 + seed + (i >> 8));
  return bytes;
}

TEST_F(NetDeviceTest, TsoFrameFromTheGuestReachesTheNamespaceWhole) {
  start(kBasic | kCsum | kHostTso4);
  ASSERT_NE(guest_->offered() & kHostTso4, 0u);
  auto capture = ns_->packet_socket();
  ASSERT_TRUE(capture.ok()) << capture.error().message();
  const auto payload = pattern(30000, 7);
  const auto frame = tcp_frame(kHostMac, kGuestMac, kGuestIp, kHostIp, payload);
  std::array<uint8_t, 12> header{};
  header[0] = 1;                          // NEEDS_CSUM
  header[1] = 1;                          // GSO_TCPV4
  header[2] = 54;                         // hdr_len
  header[4] = 1448 & 0xff, header[5] = 1448 >> 8;  // gso_size
  header[6] = 34;                         // csum_start
  header[8] = 16;                         // csum_offset
  ASSERT_TRUE(guest_->send(header, frame, 4).ok()) << device_.log();
  // The namespace's capture: one GSO packet of the whole frame (virtio_net_hdr, 10 bytes, first).
  std::vector<uint8_t> seen;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (std::chrono::steady_clock::now() < deadline) {
    auto packet = receive_datagram(capture->get(), std::chrono::milliseconds(500));
    if (packet.size() > 10 + 20000) {
      seen = std::move(packet);
      break;
    }
  }
  ASSERT_FALSE(seen.empty()) << "no large TCP frame reached the namespace\n" << device_.log();
  EXPECT_EQ(seen[1] & 0x7f, 1) << "gso_type TCPV4";
  EXPECT_EQ(seen[4] | (seen[5] << 8), 1448) << "gso_size";
  ASSERT_EQ(seen.size(), 10 + frame.size());
  EXPECT_EQ(fnv1a(std::span(seen).subspan(10 + 54)), fnv1a(payload));
}

TEST_F(NetDeviceTest, TsoFrameTowardTheGuestArrivesWholeWhenNegotiated) {
  start(kBasic | kMrgRxbuf | kCsum | kGuestCsum | kGuestTso4);
  if ((guest_->offered() & kGuestTso4) == 0) GTEST_SKIP() << "this TAP takes no TSO offload";
  guest_->post_rx_buffers(16, 4096);
  auto sender = ns_->packet_socket();
  ASSERT_TRUE(sender.ok()) << sender.error().message();
  const auto payload = pattern(30000, 9);
  auto frame = tcp_frame(kGuestMac, kHostMac, kHostIp, kGuestIp, payload);
  std::vector<uint8_t> packet(10);
  packet[0] = 1, packet[1] = 1, packet[2] = 54;
  packet[4] = 1448 & 0xff, packet[5] = 1448 >> 8;
  packet[6] = 34, packet[8] = 16;
  packet.insert(packet.end(), frame.begin(), frame.end());
  ASSERT_EQ(::send(sender->get(), packet.data(), packet.size(), 0), static_cast<ssize_t>(packet.size()))
      << std::strerror(errno);
  std::vector<uint8_t> got;
  for (int i = 0; i < 16 && got.empty(); ++i) {
    auto p = guest_->receive(std::chrono::seconds(2));
    ASSERT_TRUE(p.ok()) << p.error().message() << "\n" << device_.log();
    if (p->size() > 20000) got = std::move(*p);
  }
  ASSERT_EQ(got.size(), 12 + frame.size());
  EXPECT_EQ(got[1] & 0x7f, 1) << "gso_type TCPV4";
  EXPECT_EQ(got[4] | (got[5] << 8), 1448) << "gso_size";
  EXPECT_GE(got[10] | (got[11] << 8), 8) << "num_buffers: 30 kB in 4 kB buffers";
  EXPECT_EQ(fnv1a(std::span(got).subspan(12 + 54)), fnv1a(payload));
}

TEST_F(NetDeviceTest, QueuePairsCarryTrafficOnlyOnceTheGuestEnablesThem) {
  auto second = ns_->open_tap_queue();
  ASSERT_TRUE(second.ok()) << second.error().message();
  std::vector<std::string> all{"--mac", "52:54:00:12:34:56", "--seccomp", seccomp_mode()};
  auto device = start_net_device({tap_.get(), second->get()}, all, log_path_);
  ASSERT_TRUE(device.ok()) << device.error().message();
  device_ = std::move(*device);
  auto guest = NetTestGuest::start(UniqueFd(::dup(device_.socket.get())), kBasic | kMq | kMrgRxbuf, 2);
  ASSERT_TRUE(guest.ok()) << guest.error().message() << "\n" << device_.log();
  guest_ = std::move(*guest);
  ASSERT_NE(guest_->offered() & kMq, 0u);
  EXPECT_EQ(guest_->ctrl_queue(), 4);
  guest_->post_rx_buffers(16, 2048, 0);
  guest_->post_rx_buffers(16, 2048, 2);
  const uint8_t payload[] = {1, 2, 3};
  auto send_flows = [&](int flows) {
    for (int i = 0; i < flows; ++i) ASSERT_TRUE(send_datagram(host_.get(), kGuestIp, static_cast<uint16_t>(7000 + i), payload).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  };
  // Only pair 0 until VQ_PAIRS_SET: the TAP steers every flow there.
  send_flows(12);
  EXPECT_EQ(guest_->rx_used(0), 12);
  EXPECT_EQ(guest_->rx_used(2), 0);
  const uint8_t too_many[] = {4, 0, 3, 0};
  auto ack = guest_->control(too_many);
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(*ack, 1) << "3 pairs when 2 are offered";
  const uint8_t two[] = {4, 0, 2, 0};
  ack = guest_->control(two);
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(*ack, 0);
  // 12 more flows spread over both pairs (each flow's queue is the TAP's hash choice).
  for (int i = 0; i < 12; ++i) (void)guest_->receive(std::chrono::seconds(1), 0);
  send_flows(12);
  const int on_first = static_cast<uint16_t>(guest_->rx_used(0) - 12);
  const int on_second = guest_->rx_used(2);
  EXPECT_EQ(on_first + on_second, 12);
  EXPECT_GT(on_second, 0) << "no flow reached the second pair";
  EXPECT_GT(on_first, 0) << "no flow stayed on the first pair";
}

TEST_F(NetDeviceTest, RateLimitedReceiveHoldsBackInsteadOfDropping) {
  // 10 packets per 100 ms, starting full: 40 datagrams need >= 300 ms, and none is lost (the
  // device leaves them in the TAP until tokens return).
  start(kBasic | kMrgRxbuf, {"--rx-packets", "10:100"});
  guest_->post_rx_buffers(16, 2048);
  const uint8_t payload[] = {7, 7, 7};
  const auto begin = std::chrono::steady_clock::now();
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(send_datagram(host_.get(), kGuestIp, kGuestPort, payload).ok());
  for (int i = 0; i < 40; ++i) {
    auto packet = receive_udp(std::chrono::seconds(3));
    ASSERT_TRUE(packet.ok()) << i << ": " << packet.error().message() << "\n" << device_.log();
  }
  const auto took = std::chrono::steady_clock::now() - begin;
  EXPECT_GE(took, std::chrono::milliseconds(280));
  EXPECT_LT(took, std::chrono::seconds(5));
  const std::string log = stop();
  EXPECT_NE(log.find("rx 40 frames"), std::string::npos) << log;
}

TEST_F(NetDeviceTest, FloodsCostTheLogAFewLinesAndTheDeviceStaysResponsive) {
  start(kBasic | kMrgRxbuf, {"--allowed-ip", "10.99.0.2/32"});
  guest_->post_rx_buffers(16, 2048);
  // The guest sends 3000 frames with a foreign source MAC...
  const auto spoofed = guest_frame("flood", kForeignMac);
  for (int i = 0; i < 3000; ++i) ASSERT_TRUE(guest_->send_frame(spoofed).ok()) << i;
  // ...and the namespace sends 3000 frames to another MAC on the same link (a bridge flooding
  // unicast), which are not for the guest.
  ASSERT_TRUE(ns_->ip({"neigh", "add", "10.99.0.3", "lladdr", "52:54:00:99:99:99", "dev", NetNamespace::kTap,
                       "nud", "permanent"}).ok());
  const uint8_t payload[] = {1};
  for (int i = 0; i < 3000; ++i) {
    ASSERT_TRUE(send_datagram(host_.get(), "10.99.0.3", kGuestPort, payload).ok());
    if (i % 200 == 199) std::this_thread::sleep_for(std::chrono::milliseconds(5));  // within the TAP's queue
  }
  // The device still answers at once, and still delivers what is the guest's.
  auto ack = guest_->control(std::array<uint8_t, 3>{0, 1, 1});  // ALLMULTI on
  ASSERT_TRUE(ack.ok()) << ack.error().message();
  EXPECT_EQ(*ack, 0);
  ASSERT_TRUE(send_datagram(host_.get(), kGuestIp, kGuestPort, payload).ok());
  auto packet = receive_udp(std::chrono::seconds(3));
  ASSERT_TRUE(packet.ok()) << packet.error().message();
  const std::string log = stop();
  EXPECT_NE(log.find("tx_source_mac=3000"), std::string::npos) << log;
  EXPECT_NE(log.find("rx_not_for_guest="), std::string::npos) << log;
  size_t lines = 0;
  for (size_t at = 0; (at = log.find('\n', at)) != std::string::npos; ++at) ++lines;
  EXPECT_LE(lines, 40u) << "6000 drops must cost a few log lines, not one each:\n" << log;
}

}  // namespace
}  // namespace bulwark::test
