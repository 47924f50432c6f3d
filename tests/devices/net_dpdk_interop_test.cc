// bulwark-dev-net against a vhost-user-net frontend no one here wrote: DPDK 22.11's virtio_user
// driver in dpdk-testpmd (Debian 12's dpdk-dev), with the device under its seccomp policy on a
// TAP in a network namespace the test creates. testpmd connects to a unix socket the test
// listens on; the test accepts and hands the connected fd to the device as --socket-fd, as the
// launcher does. What is checked happens at the far side of each direction:
//  - macswap: frames of many sizes injected on the TAP (a packet socket in the namespace) reach
//    testpmd through the device, come back with their MACs swapped and arrive in the namespace
//    byte for byte; frames for another MAC never reach testpmd (the device counts them); a
//    datagram from the namespace's UDP stack comes back with a complete checksum (no checksum
//    offload was negotiated); with mergeable RX buffers and without (mrg_rxbuf=0);
//  - txonly: a flood from testpmd (one-segment 64-byte frames, and two-segment 1000-byte frames,
//    so a frame spans several descriptors, chained or in an indirect table) arrives on the TAP whole and well formed, nothing is lost but what
//    the packet socket itself drops (it says how many), and the device drops nothing;
//  - a port stopped and started again by testpmd (RESET_OWNER and a second set-up on the same
//    connection) carries traffic;
//  - the other way round, the monitor's own frontend (VhostUserFrontend) drives DPDK's vhost-user
//    backend (net_vhost, forwarding to net_af_packet on a veth): frames checked at the veth's far
//    end and in the guest's RX buffers. Skips without the vhost and af_packet drivers too.
//
// Memory: testpmd runs with --no-huge. EAL 22.11 then backs its memory with one memfd
// ("memfd:nohuge" in its maps), which virtio_user can send in SET_MEM_TABLE, so no hugepages are
// reserved and nothing is left to release. (--in-memory is refused with --no-huge: "Option
// --legacy-mem is not compatible with --in-memory"; --no-shconf keeps EAL from making its files
// for multi-process use, --no-telemetry from opening its socket, and RUNTIME_DIRECTORY puts its
// runtime directory in the test's temporary directory instead of /var/run/dpdk; --no-mlockall
// keeps it from locking all it maps.)
// virtio_user negotiates VERSION_1, INDIRECT_DESC and MRG_RXBUF here (no offloads: testpmd asks
// for none) and emulates the control queue itself, so none reaches the device.
// Skips unless root, dpdk-testpmd (or BULWARK_DPDK_TESTPMD) and the virtio and mempool-ring
// drivers are there. Every child is bounded: testpmd is stopped with SIGINT and killed after a
// deadline, the device exits when testpmd disconnects and is killed if it does not.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <regex>
#include <span>
#include <thread>

#include "tests/devices/net_namespace.h"
#include "tests/devices/net_test_guest.h"
#include "tests/integration/monitor_process.h"
#if BULWARK_HAVE_VHOST_USER_FRONTEND
#include "monitor/vhost_user/vhost_user_frontend.h"
#include "tests/devices/split_ring_driver.h"
#endif

namespace bulwark::test {
namespace {

constexpr const char* kNicMacText = "52:54:00:12:34:56";
constexpr const char* kTapMacText = "02:00:00:00:00:01";
const Mac kNicMac{0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
const Mac kTapMac{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
const Mac kForeignMac{0x52, 0x54, 0x00, 0x66, 0x66, 0x66};
constexpr size_t kVnetHeader = 10;  // the packet socket's virtio_net_hdr (PACKET_VNET_HDR)

// dpdk-testpmd from BULWARK_DPDK_TESTPMD or PATH; empty when there is none.
std::string find_testpmd() {
  if (const char* path = std::getenv("BULWARK_DPDK_TESTPMD"); path != nullptr && *path != 0) {
    return ::access(path, X_OK) == 0 ? path : "";
  }
  const char* env_path = std::getenv("PATH");
  std::string dirs = std::string(env_path != nullptr ? env_path : "") + ":/usr/bin:/usr/local/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    const size_t colon = dirs.find(':', start);
    const std::string dir = dirs.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (!dir.empty() && ::access((dir + "/dpdk-testpmd").c_str(), X_OK) == 0) return dir + "/dpdk-testpmd";
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return "";
}

// The drivers testpmd loads from its driver directory (<libdir>/dpdk/pmds-<abi>/) that this test
// needs and that are missing, space separated; empty when all are there.
std::string missing_dpdk_drivers(std::initializer_list<const char*> drivers = {"librte_net_virtio.so",
                                                                            "librte_mempool_ring.so"}) {
  std::string missing;
  for (const char* driver : drivers) {
    bool found = false;
    for (const char* libdir : {"/usr/lib/x86_64-linux-gnu/dpdk", "/usr/local/lib/x86_64-linux-gnu/dpdk",
                               "/usr/lib64/dpdk", "/usr/local/lib/dpdk"}) {
      std::error_code error;
      for (const auto& pmds : std::filesystem::directory_iterator(libdir, error)) {
        for (const auto& file : std::filesystem::directory_iterator(pmds.path(), error)) {
          found = found || file.path().filename().string().rfind(driver, 0) == 0;
        }
      }
    }
    if (!found) missing += std::string(missing.empty() ? "" : " ") + driver;
  }
  return missing;
}

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

bool ipv4_header_checksum_ok(const uint8_t* ip) {
  uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += be16(ip + i);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum == 0xffff;
}

// The ones'-complement sum of UDP over IPv4 with its pseudo header: 0xffff when the datagram's
// checksum is right.
uint16_t udp_checksum_sum(std::span<const uint8_t> frame) {
  const uint8_t* ip = frame.data() + 14;
  const uint8_t* udp = ip + 20;
  const uint16_t udp_len = be16(udp + 4);
  uint32_t sum = be16(ip + 12) + be16(ip + 14) + be16(ip + 16) + be16(ip + 18) + 17 + udp_len;
  for (size_t i = 0; i + 1 < udp_len; i += 2) sum += be16(udp + i);
  if (udp_len % 2) sum += uint32_t{udp[udp_len - 1]} << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// The last "NAME: <number>" in testpmd's "Forward statistics for port 0" block; -1 if absent.
int64_t forward_stat(const std::string& out, const std::string& name) {
  const size_t block = out.rfind("Forward statistics for port 0");
  if (block == std::string::npos) return -1;
  std::smatch match;
  const std::string tail = out.substr(block);
  if (!std::regex_search(tail, match, std::regex(name + ": +([0-9]+)"))) return -1;
  return std::stoll(match[1].str());
}

// "tx N frames" / "rx N frames" from the device's summary line; -1 if absent.
int64_t device_frames(const std::string& log, const std::string& direction) {
  std::smatch match;
  if (!std::regex_search(log, match, std::regex("info: tx [0-9]+ frames.*"))) return -1;
  const std::string line = match[0].str();
  if (!std::regex_search(line, match, std::regex(direction + " ([0-9]+) frames"))) return -1;
  return std::stoll(match[1].str());
}

class NetDpdkInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespace, TAP)";
    testpmd_path_ = find_testpmd();
    if (testpmd_path_.empty()) GTEST_SKIP() << "dpdk-testpmd not installed (Debian: dpdk-dev)";
    if (const std::string missing = missing_dpdk_drivers(); !missing.empty()) {
      GTEST_SKIP() << "DPDK drivers missing: " << missing << " (Debian: librte-net-virtio23, librte-mempool-ring23)";
    }
    auto ns = NetNamespace::create("10.99.0.1/24", kTapMacText);
    ASSERT_TRUE(ns.ok()) << ns.error().message();
    ns_.emplace(std::move(*ns));
    auto tap = ns_->open_tap_queue();
    ASSERT_TRUE(tap.ok()) << tap.error().message();
    tap_ = std::move(*tap);
    auto packets = ns_->packet_socket();
    ASSERT_TRUE(packets.ok()) << packets.error().message();
    packets_ = std::move(*packets);
    const int buffer = 16 << 20;
    ::setsockopt(packets_.get(), SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer);
    ::setsockopt(packets_.get(), SOL_SOCKET, SO_SNDBUFFORCE, &buffer, sizeof buffer);

    std::string test_name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (char& c : test_name) c = c == '/' ? '-' : c;
    dir_ = std::filesystem::temp_directory_path() / ("bulwark-net-dpdk-" + std::to_string(::getpid()) + "-" + test_name);
    std::filesystem::create_directories(dir_);
    socket_path_ = (dir_ / "vhost-user.sock").string();
    listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(listener_.valid());
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    ASSERT_LT(socket_path_.size(), sizeof address.sun_path);
    std::strncpy(address.sun_path, socket_path_.c_str(), sizeof address.sun_path - 1);
    ASSERT_EQ(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0) << std::strerror(errno);
    ASSERT_EQ(::listen(listener_.get(), 1), 0);
  }

  void TearDown() override {
    testpmd_.reset();  // SIGKILL if still running
    if (device_.pid > 0) device_.wait(std::chrono::seconds(5));
    listener_.reset();
    packets_.reset();
    tap_.reset();
    ns_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
    if (!testpmd_path_.empty()) {
      EXPECT_LT(std::chrono::steady_clock::now(), deadline_) << "the test ran past its own deadline";
    }
  }

  // Starts testpmd as the frontend (`testpmd_args` after EAL's "--"), accepts its connection,
  // starts the device on it and waits until testpmd forwards.
  void start(const std::vector<std::string>& testpmd_args, const std::string& vdev_options = "") {
    // EAL's runtime directory (/var/run/dpdk/<prefix> for root, even with --no-shconf) goes
    // under the test's own directory instead (RUNTIME_DIRECTORY, systemd's convention).
    std::vector<std::string> args{
        "RUNTIME_DIRECTORY=" + (dir_ / "run").string(), testpmd_path_,
        "-l", "0-1", "--no-pci", "--no-huge", "-m", "128", "--no-shconf", "--no-telemetry",
        "--file-prefix", "bwnet-" + std::to_string(::getpid()),
        "--vdev", "net_virtio_user0,path=" + socket_path_ + ",queues=1,mac=" + kNicMacText + vdev_options,
        "--", "--stats-period", "1", "--total-num-mbufs", "4096", "--no-mlockall"};
    args.insert(args.end(), testpmd_args.begin(), testpmd_args.end());
    auto testpmd = ChildProcess::start("/usr/bin/env", args);
    ASSERT_TRUE(testpmd.ok()) << testpmd.error().message();
    testpmd_.emplace(std::move(*testpmd));

    pollfd p{listener_.get(), POLLIN, 0};
    if (::poll(&p, 1, 15000) != 1) {
      ProcessResult result = testpmd_->wait(std::chrono::seconds(2));
      FAIL() << "testpmd never connected: " << result.describe();
    }
    UniqueFd connection(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    ASSERT_TRUE(connection.valid()) << std::strerror(errno);

    const std::string log_path = (dir_ / "device.log").string();
    UniqueFd log(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    ASSERT_TRUE(log.valid());
    std::vector<std::string> argv_strings{BULWARK_DEV_NET, "--socket-fd", "3", "--tap-fd", "4", "--mac", kNicMacText,
                                          "--mtu", "1500", "--seccomp", "enforce"};
    std::vector<char*> argv;
    for (std::string& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // Copies out of the way first, then each to its number (dup2 clears close-on-exec).
      const int socket_copy = ::fcntl(connection.get(), F_DUPFD_CLOEXEC, 100);
      const int tap_copy = ::fcntl(tap_.get(), F_DUPFD_CLOEXEC, 100);
      if (socket_copy < 0 || tap_copy < 0 || ::dup2(socket_copy, 3) < 0 || ::dup2(tap_copy, 4) < 0 ||
          ::dup2(log.get(), 2) < 0) {
        ::_exit(120);
      }
      ::execv(argv[0], argv.data());
      ::_exit(122);
    }
    device_.pid = pid;
    device_.log_path = log_path;
    connection.reset();  // the device's copy is the only one: it sees testpmd go

    const bool forwarding = testpmd_->wait_for_stdout("packet forwarding - ports=1", std::chrono::seconds(15));
    if (!forwarding) {
      ProcessResult result = testpmd_->wait(std::chrono::seconds(2));
      FAIL() << "testpmd did not start forwarding: " << result.describe() << "\ndevice log:\n" << device_.log();
    }
  }

  // Stops testpmd (SIGINT: it prints its forward statistics and disconnects) and waits for the
  // device to exit on its own. testpmd's output and the device's log.
  std::pair<std::string, std::string> stop() {
    EXPECT_TRUE(testpmd_->send_signal(SIGINT).ok());
    ProcessResult result = testpmd_->wait(std::chrono::seconds(10));
    testpmd_.reset();
    EXPECT_FALSE(result.timed_out) << result.describe();
    const int status = device_.wait(std::chrono::seconds(10));
    const std::string log = device_.log();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "device wait status " << status << "\n" << log;
    EXPECT_EQ(log.find("runtime error"), std::string::npos) << log;
    EXPECT_EQ(log.find("Sanitizer"), std::string::npos) << log;
    return {result.out + result.err, log};
  }

  // Writes one frame into the TAP from the namespace's side (toward the device).
  Status inject(std::span<const uint8_t> frame) {
    std::vector<uint8_t> packet(kVnetHeader, 0);
    packet.insert(packet.end(), frame.begin(), frame.end());
    if (::send(packets_.get(), packet.data(), packet.size(), 0) != static_cast<ssize_t>(packet.size())) {
      return Error::from_errno("send on the packet socket", errno);
    }
    return ok_status();
  }

  // The next frame the TAP received from the device (its vnet header stripped), skipping frames
  // going the other way; nullopt when none came within `timeout`.
  std::optional<std::vector<uint8_t>> next_from_device(std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    std::vector<uint8_t> buffer(70000);
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      pollfd p{packets_.get(), POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) != 1) return std::nullopt;
      sockaddr_ll from{};
      socklen_t from_size = sizeof from;
      const ssize_t n = ::recvfrom(packets_.get(), buffer.data(), buffer.size(), MSG_DONTWAIT,
                                   reinterpret_cast<sockaddr*>(&from), &from_size);
      if (n < 0) continue;
      if (from.sll_pkttype == PACKET_OUTGOING || static_cast<size_t>(n) < kVnetHeader) continue;
      return std::vector<uint8_t>(buffer.begin() + kVnetHeader, buffer.begin() + n);
    }
  }

  // Frames the packet socket dropped since the last call (it could not keep up).
  uint64_t packet_socket_drops() {
    tpacket_stats stats{};
    socklen_t size = sizeof stats;
    if (::getsockopt(packets_.get(), SOL_PACKET, PACKET_STATISTICS, &stats, &size) != 0) return 0;
    return stats.tp_drops;
  }

  std::string tap_stats() {
    auto stats = run_command({"/usr/sbin/ip", "-n", ns_->name(), "-s", "link", "show", NetNamespace::kTap});
    return stats.ok() ? *stats : stats.error().message();
  }

  std::chrono::steady_clock::time_point deadline_;
  std::string testpmd_path_;
  std::optional<NetNamespace> ns_;
  UniqueFd tap_, packets_, listener_;
  std::filesystem::path dir_;
  std::string socket_path_;
  std::optional<ChildProcess> testpmd_;
  NetDeviceRun device_;
};

// Namespace -> device -> testpmd (macswap) -> device -> namespace: every frame for the NIC's MAC
// comes back with the MACs swapped and its bytes intact; frames for another MAC stop at the
// device. At most a window of frames is in flight, so nothing is lost to a full queue.
// Parameter: virtio_user options; with mrg_rxbuf=0 the device fills one buffer per frame with a
// 12-byte header and no merged buffers.
class NetDpdkRoundTrip : public NetDpdkInterop, public ::testing::WithParamInterface<std::string> {};

TEST_P(NetDpdkRoundTrip, FramesComeBackThroughTestpmdByteForByte) {
  start({"--forward-mode=macswap"}, GetParam());
  if (HasFatalFailure()) return;
  constexpr int kFrames = 600;
  constexpr int kWindow = 32;
  int sent = 0, received = 0, foreign = 0;
  std::vector<std::vector<uint8_t>> expected;
  std::string mismatch;
  while (received < kFrames && mismatch.empty()) {
    while (sent < kFrames && sent - received < kWindow) {
      // Payloads from 0 to 1472 bytes (frames 42..1514), each one's bytes its own. The IPs are
      // not the namespace's, so the echoes are dropped there quietly (no ICMP, no ARP).
      std::vector<uint8_t> payload(static_cast<size_t>((sent * 211) % 1473));
      for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(sent * 7 + i * 13);
      const auto frame = udp_frame(kNicMac, kTapMac, "198.18.0.1", "198.18.0.2", 4000, static_cast<uint16_t>(sent),
                                   payload);
      ASSERT_TRUE(inject(frame).ok());
      auto echo = frame;
      std::memcpy(echo.data(), kTapMac.data(), 6);
      std::memcpy(echo.data() + 6, kNicMac.data(), 6);
      expected.push_back(std::move(echo));
      ++sent;
      if (sent % 10 == 0) {
        ASSERT_TRUE(inject(udp_frame(kForeignMac, kTapMac, "198.18.0.1", "198.18.0.2", 4000, 1, payload)).ok());
        ++foreign;
      }
    }
    auto frame = next_from_device(std::chrono::seconds(5));
    if (!frame) {
      mismatch = "no echo of frame " + std::to_string(received) + " within 5 s";
      break;
    }
    if (*frame != expected[static_cast<size_t>(received)]) {
      mismatch = "echo " + std::to_string(received) + " differs: " + std::to_string(frame->size()) + " bytes, " +
                 std::to_string(expected[static_cast<size_t>(received)].size()) + " expected";
    }
    ++received;
  }
  // Nothing else comes out of the device.
  auto extra = next_from_device(std::chrono::milliseconds(300));
  // A datagram from the namespace's own UDP stack: testpmd negotiated no checksum offload, so the
  // TAP must not have been set to take partial checksums; it comes back with a complete one.
  std::optional<std::vector<uint8_t>> datagram;
  if (mismatch.empty()) {
    ASSERT_TRUE(ns_->ip({"neigh", "add", "10.99.0.2", "lladdr", kNicMacText, "dev", NetNamespace::kTap, "nud",
                         "permanent"}).ok());
    auto udp = ns_->udp_socket("10.99.0.1", 0);
    ASSERT_TRUE(udp.ok()) << udp.error().message();
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(7000);
    ::inet_pton(AF_INET, "10.99.0.2", &to.sin_addr);
    const std::string payload(333, 'u');
    ASSERT_EQ(::sendto(udp->get(), payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
              static_cast<ssize_t>(payload.size()))
        << std::strerror(errno);
    datagram = next_from_device(std::chrono::seconds(5));
  }
  auto [testpmd_out, log] = stop();
  EXPECT_TRUE(mismatch.empty()) << mismatch << "\n" << tap_stats() << "\ndevice log:\n" << log;
  EXPECT_EQ(received, kFrames);
  EXPECT_FALSE(extra.has_value()) << "an extra frame of " << extra->size() << " bytes";
  ASSERT_TRUE(datagram.has_value()) << "the namespace's datagram never came back\n" << log;
  const auto& d = *datagram;
  ASSERT_EQ(d.size(), 14u + 20 + 8 + 333);
  EXPECT_EQ(std::memcmp(d.data(), kTapMac.data(), 6), 0);
  EXPECT_EQ(d[23], 17);
  EXPECT_TRUE(ipv4_header_checksum_ok(&d[14]));
  EXPECT_EQ(udp_checksum_sum(d), 0xffff) << "the UDP checksum arrived incomplete";
  EXPECT_EQ(forward_stat(testpmd_out, "RX-packets"), kFrames + 1) << testpmd_out;
  EXPECT_EQ(forward_stat(testpmd_out, "TX-packets"), kFrames + 1) << testpmd_out;
  EXPECT_EQ(device_frames(log, "rx"), kFrames + 1) << log;
  EXPECT_EQ(device_frames(log, "tx"), kFrames + 1) << log;
  EXPECT_NE(log.find("rx_not_for_guest=" + std::to_string(foreign)), std::string::npos) << log;
  if (const size_t summary = log.rfind("info: tx "); summary != std::string::npos) {
    std::cout << "device: " << log.substr(summary) << "\n";
  }
}

INSTANTIATE_TEST_SUITE_P(VirtioUser, NetDpdkRoundTrip, ::testing::Values("", ",mrg_rxbuf=0"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return std::string(info.param.empty() ? "MergeableRxBuffers" : "OneBufferPerFrame");
                         });

// A testpmd txonly flood reaches the namespace: every frame the packet socket sees is the one
// testpmd builds (its MAC as source, the peer MAC we gave, IPv4/UDP with a valid header checksum
// and lengths that match the frame), and those it saw plus those it dropped are exactly what the
// device wrote. Parameter: testpmd's --txpkts (segment lengths of each frame).
class NetDpdkTxonly : public NetDpdkInterop, public ::testing::WithParamInterface<std::string> {};

TEST_P(NetDpdkTxonly, FloodFromTestpmdArrivesWellFormed) {
  const std::string segments = GetParam();
  size_t frame_size = 0;
  for (size_t at = 0; at < segments.size();) {
    const size_t comma = segments.find(',', at);
    frame_size += std::stoul(segments.substr(at, comma == std::string::npos ? std::string::npos : comma - at));
    at = comma == std::string::npos ? segments.size() : comma + 1;
  }
  start({"--forward-mode=txonly", std::string("--eth-peer=0,") + kTapMacText, "--txpkts=" + segments});
  if (HasFatalFailure()) return;
  std::atomic<bool> done{false};
  uint64_t seen = 0, bad = 0;
  std::string first_bad;
  std::thread reader([&] {
    for (;;) {
      auto frame = next_from_device(std::chrono::milliseconds(300));
      if (!frame) {
        if (done) return;
        continue;
      }
      const auto& f = *frame;
      const bool ok = f.size() == frame_size && std::memcmp(f.data(), kTapMac.data(), 6) == 0 &&
                      std::memcmp(f.data() + 6, kNicMac.data(), 6) == 0 && be16(&f[12]) == 0x0800 && f[14] == 0x45 &&
                      f[23] == 17 && be16(&f[16]) == frame_size - 14 && ipv4_header_checksum_ok(&f[14]) &&
                      be16(&f[38]) == frame_size - 34;
      ++(ok ? seen : bad);
      if (!ok && first_bad.empty()) {
        for (size_t i = 0; i < std::min<size_t>(f.size(), 64); ++i) {
          char hex[4];
          std::snprintf(hex, sizeof hex, "%02x ", f[i]);
          first_bad += hex;
        }
      }
    }
  });
  std::this_thread::sleep_for(std::chrono::seconds(2));
  auto [testpmd_out, log] = stop();
  done = true;
  reader.join();
  const uint64_t dropped = packet_socket_drops();
  const int64_t written = device_frames(log, "tx");
  const int64_t testpmd_sent = forward_stat(testpmd_out, "TX-packets");
  EXPECT_EQ(bad, 0u) << "first bad frame: " << first_bad;
  EXPECT_GT(written, 1000) << log;
  EXPECT_EQ(static_cast<int64_t>(seen + dropped), written) << seen << " seen, " << dropped << " dropped\n"
                                                            << tap_stats() << "\n" << log;
  // What testpmd put in the ring and the device had not taken when testpmd stopped it is at most
  // one ring's worth.
  EXPECT_LE(written, testpmd_sent) << testpmd_out;
  EXPECT_LE(testpmd_sent - written, 256) << testpmd_out;
  EXPECT_NE(log.find("drops: none"), std::string::npos) << log;
  std::cout << "testpmd sent " << testpmd_sent << ", device wrote " << written << ", packet socket saw " << seen
            << " (+" << dropped << " it dropped)\n";
}

// testpmd stops and restarts its port before forwarding ("port stop 0", "port start 0" from a
// command file): virtio_user disables the rings and sends RESET_OWNER, then sets the device up
// again on the same connection (owner, features, memory table, rings). Frames flow afterwards.
TEST_F(NetDpdkInterop, PortRestartOnTheSameConnectionCarriesTraffic) {
  const std::string commands = (dir_ / "restart.cmds").string();
  {
    UniqueFd file(::open(commands.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    const std::string text = "port stop 0\nport start 0\n";
    ASSERT_EQ(::write(file.get(), text.data(), text.size()), static_cast<ssize_t>(text.size()));
  }
  start({"--forward-mode=txonly", std::string("--eth-peer=0,") + kTapMacText, "--cmdline-file=" + commands});
  if (HasFatalFailure()) return;
  uint64_t arrived = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (std::chrono::steady_clock::now() < until) {
    auto frame = next_from_device(std::chrono::milliseconds(200));
    if (frame && frame->size() == 64 && std::memcmp(frame->data() + 6, kNicMac.data(), 6) == 0) ++arrived;
  }
  auto [testpmd_out, log] = stop();
  EXPECT_NE(testpmd_out.find("Stopping ports..."), std::string::npos) << testpmd_out;
  EXPECT_GT(arrived, 100u) << tap_stats() << "\n" << log;
  EXPECT_GT(device_frames(log, "tx"), 100) << log;
  EXPECT_NE(log.find("drops: none"), std::string::npos) << log;
}

INSTANTIATE_TEST_SUITE_P(Segments, NetDpdkTxonly, ::testing::Values("64", "42,958"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return std::string(info.param == "64" ? "OneSegment64" : "TwoSegments1000");
                         });

#if BULWARK_HAVE_VHOST_USER_FRONTEND
// The other way round: the monitor's own vhost-user frontend (VhostUserFrontend, what
// bulwark-monitor puts behind a virtio-pci function) against a vhost-user-net backend no one
// here wrote, DPDK 22.11's net_vhost in testpmd. testpmd listens on a unix socket and forwards
// (io mode) between the guest's queues and net_af_packet on veth0; the test plays the guest's
// driver on split rings in a memfd (split_ring_driver.h) and checks each frame at veth1, the
// veth's other end, byte for byte, both ways. Both veth ends and testpmd live in the test's
// namespace (`ip netns exec`).
// DPDK's backend offers no CONFIG protocol feature for net (QEMU keeps virtio-net's
// configuration itself): the frontend exposes no MAC, MTU, STATUS, MQ or control queue and an
// all-zero configuration, so the guest has one queue pair and picks its own MAC.
TEST_F(NetDpdkInterop, TheMonitorsFrontendDrivesDpdksVhostBackend) {
  using namespace std::chrono_literals;
  const auto test_deadline = std::chrono::steady_clock::now() + 20s;
  if (const std::string missing = missing_dpdk_drivers({"librte_net_vhost.so", "librte_net_af_packet.so"});
      !missing.empty()) {
    GTEST_SKIP() << "DPDK drivers missing: " << missing << " (Debian: librte-net-vhost23, librte-net-af-packet23)";
  }
  constexpr const char* kPeerMacText = "02:00:00:00:00:02";
  const Mac kPeerMac{0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
  ASSERT_TRUE(ns_->ip({"link", "add", "veth0", "type", "veth", "peer", "name", "veth1"}).ok());
  ASSERT_TRUE(ns_->ip({"link", "set", "veth1", "address", kPeerMacText}).ok());
  ASSERT_TRUE(ns_->ip({"link", "set", "veth0", "up"}).ok());
  ASSERT_TRUE(ns_->ip({"link", "set", "veth1", "up"}).ok());
  // The far side: a packet socket on veth1 (plain frames, no vnet header).
  UniqueFd peer;
  ASSERT_TRUE(ns_->run_inside([&]() -> Status {
                   peer.reset(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL)));
                   if (!peer.valid()) return Error::from_errno("socket AF_PACKET", errno);
                   sockaddr_ll local{};
                   local.sll_family = AF_PACKET;
                   local.sll_protocol = htons(ETH_P_ALL);
                   local.sll_ifindex = static_cast<int>(::if_nametoindex("veth1"));
                   if (local.sll_ifindex == 0) return Error::from_errno("if_nametoindex veth1", errno);
                   if (::bind(peer.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
                     return Error::from_errno("bind AF_PACKET", errno);
                   }
                   return ok_status();
                 }).ok());
  // The next frame veth1 received (not one it sent); nullopt after `timeout`.
  auto next_at_peer = [&](std::chrono::milliseconds timeout) -> std::optional<std::vector<uint8_t>> {
    const auto until = std::chrono::steady_clock::now() + timeout;
    std::vector<uint8_t> buffer(70000);
    for (;;) {
      const auto left = milliseconds_until(until);
      pollfd p{peer.get(), POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) != 1) return std::nullopt;
      sockaddr_ll from{};
      socklen_t from_size = sizeof from;
      const ssize_t n = ::recvfrom(peer.get(), buffer.data(), buffer.size(), MSG_DONTWAIT,
                                   reinterpret_cast<sockaddr*>(&from), &from_size);
      if (n <= 0 || from.sll_pkttype == PACKET_OUTGOING) continue;
      return std::vector<uint8_t>(buffer.begin(), buffer.begin() + n);
    }
  };

  // testpmd: port 0 net_vhost0 (listening: client=0), port 1 net_af_packet0 on veth0, io
  // forwarding between them.
  const std::string vhost_socket = (dir_ / "vhost.sock").string();
  auto testpmd = ChildProcess::start(
      "/usr/sbin/ip",
      {"netns", "exec", ns_->name(), "env", "RUNTIME_DIRECTORY=" + (dir_ / "run").string(), testpmd_path_, "-l",
       "0-1", "--no-pci", "--no-huge", "-m", "128", "--no-shconf", "--no-telemetry", "--file-prefix",
       "bwnetb-" + std::to_string(::getpid()), "--vdev", "net_vhost0,iface=" + vhost_socket + ",queues=1,client=0",
       "--vdev", "net_af_packet0,iface=veth0,qpairs=1", "--", "--forward-mode=io", "--stats-period", "1",
       "--total-num-mbufs", "4096", "--no-mlockall"});
  ASSERT_TRUE(testpmd.ok()) << testpmd.error().message();
  testpmd_.emplace(std::move(*testpmd));
  if (!testpmd_->wait_for_stdout("packet forwarding - ports=2", 15s)) {
    ProcessResult result = testpmd_->wait(2s);
    FAIL() << "testpmd did not start forwarding: " << result.describe();
  }
  UniqueFd connection(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(connection.valid());
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  ASSERT_LT(vhost_socket.size(), sizeof address.sun_path);
  std::strncpy(address.sun_path, vhost_socket.c_str(), sizeof address.sun_path - 1);
  ASSERT_EQ(::connect(connection.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0)
      << vhost_socket << ": " << std::strerror(errno);

  auto ram = GuestRam::create();
  ASSERT_TRUE(ram.ok()) << ram.error().message();
  vhost_user::FrontendOptions options;
  options.name = "vhost-user-net 0 (dpdk)";
  options.reply_timeout = 2s;
  auto connected = vhost_user::VhostUserFrontend::connect(std::move(connection), vhost_user::DeviceKind::kNet,
                                                          (*ram)->shared(), options);
  ASSERT_TRUE(connected.ok()) << connected.error().message();
  std::unique_ptr<vhost_user::VhostUserFrontend> frontend = std::move(*connected);

  // What the guest would see: one pair, no control queue, no configuration to read.
  constexpr uint64_t kVersion1 = 1ULL << 32, kMrgRxbuf = 1ULL << 15;
  constexpr uint64_t kConfigFeatures = (1ULL << 3) | (1ULL << 5) | (1ULL << 16) | (1ULL << 22);  // MTU MAC STATUS MQ
  constexpr uint64_t kCtrlVq = 1ULL << 17;
  const uint64_t offered = frontend->device_features();
  const uint64_t protocol = frontend->protocol_features();
  EXPECT_EQ(protocol & (1ULL << vhost_user::kProtocolConfig), 0u) << "DPDK 22.11 has no CONFIG for net";
  EXPECT_EQ(frontend->device_type(), 1u);
  EXPECT_NE(offered & kVersion1, 0u);
  EXPECT_NE(offered & kMrgRxbuf, 0u) << "DPDK offers MRG_RXBUF";
  EXPECT_EQ(offered & (kConfigFeatures | kCtrlVq), 0u) << "features " << std::hex << offered;
  ASSERT_EQ(frontend->num_queues(), 2) << "rx0 tx0";
  std::array<uint8_t, 12> config{};
  config.fill(0xee);
  ASSERT_TRUE(frontend->read_config(0, config).ok());
  EXPECT_EQ(config, (std::array<uint8_t, 12>{})) << "an all-zero configuration";

  // DRIVER_OK with VERSION_1 and MRG_RXBUF (12-byte headers). Without MRG_RXBUF DPDK 22.11 still
  // uses the 12-byte header but leaves num_buffers as the buffer held it (0 here), where the
  // device should write 1; Linux ignores the field then, this driver does not.
  NetDriver driver(**ram, frontend->num_queues());
  const std::vector<virtio_pci::QueueSetup> queues = driver.setups();
  auto activated = frontend->activate(kVersion1 | kMrgRxbuf, queues);
  ASSERT_TRUE(activated.ok()) << activated.error().message();

  // Guest -> testpmd -> veth1: each frame arrives whole, sizes from 42 to 1514 bytes.
  const std::vector<size_t> payload_sizes{0, 18, 333, 1000, 1472};
  std::string mismatch;
  int sent_out = 0;
  for (size_t i = 0; i < payload_sizes.size() && mismatch.empty(); ++i) {
    std::vector<uint8_t> payload(payload_sizes[i]);
    for (size_t j = 0; j < payload.size(); ++j) payload[j] = static_cast<uint8_t>(i * 31 + j * 7);
    const auto frame = udp_frame(kPeerMac, kNicMac, "198.18.0.2", "198.18.0.1", 4000, static_cast<uint16_t>(i), payload);
    auto used = driver.send(1, frame);
    if (!used.ok()) {
      mismatch = "TX frame " + std::to_string(i) + ": " + used.error().message();
      break;
    }
    ++sent_out;
    auto arrived = next_at_peer(2s);
    if (!arrived) {
      mismatch = "TX frame " + std::to_string(i) + " (" + std::to_string(frame.size()) + " bytes) never reached veth1";
    } else if (*arrived != frame) {
      mismatch = "TX frame " + std::to_string(i) + " differs at veth1: " + std::to_string(arrived->size()) +
                 " bytes, " + std::to_string(frame.size()) + " sent";
    }
  }
  EXPECT_TRUE(mismatch.empty()) << mismatch;

  // veth1 -> testpmd -> the guest's RX buffers: the frame after a 12-byte header with no
  // offloads and num_buffers 1.
  ASSERT_TRUE(driver.post_rx(0, 8, 2048).ok());
  mismatch.clear();
  int received = 0;
  for (size_t i = 0; i < payload_sizes.size() && mismatch.empty(); ++i) {
    std::vector<uint8_t> payload(payload_sizes[i]);
    for (size_t j = 0; j < payload.size(); ++j) payload[j] = static_cast<uint8_t>(i * 17 + j * 3);
    const auto frame = udp_frame(kNicMac, kPeerMac, "198.18.0.1", "198.18.0.2", 5000, static_cast<uint16_t>(i), payload);
    ASSERT_EQ(::send(peer.get(), frame.data(), frame.size(), 0), static_cast<ssize_t>(frame.size()))
        << std::strerror(errno);
    auto packet = driver.receive(0, 2s);
    if (!packet.ok()) {
      mismatch = "RX frame " + std::to_string(i) + ": " + packet.error().message();
      break;
    }
    ++received;
    const std::vector<uint8_t> header(packet->begin(), packet->begin() + kVnetHeaderBytes);
    const std::vector<uint8_t> got(packet->begin() + kVnetHeaderBytes, packet->end());
    if (got != frame) {
      mismatch = "RX frame " + std::to_string(i) + " differs in the guest: " + std::to_string(got.size()) +
                 " bytes, " + std::to_string(frame.size()) + " sent";
    } else if (header != std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0}) {
      mismatch = "RX frame " + std::to_string(i) + ": a vnet header other than no offloads, num_buffers 1";
    }
  }
  EXPECT_TRUE(mismatch.empty()) << mismatch;

  // A device reset (GET_VRING_BASE for both queues), then the frontend goes: testpmd sees the
  // connection close and is stopped; it forwarded exactly the test's frames.
  frontend->reset();
  EXPECT_FALSE(frontend->failed()) << frontend->failure();
  frontend.reset();
  EXPECT_TRUE(testpmd_->send_signal(SIGINT).ok());
  ProcessResult result = testpmd_->wait(5s);
  testpmd_.reset();
  EXPECT_FALSE(result.timed_out) << result.describe();
  const std::string out = result.out + result.err;
  EXPECT_EQ(forward_stat(out, "RX-packets"), sent_out) << "port 0 (net_vhost0) took the guest's frames\n" << out;
  EXPECT_EQ(forward_stat(out, "TX-packets"), received) << "port 0 (net_vhost0) gave the guest its frames\n" << out;
  EXPECT_LT(std::chrono::steady_clock::now(), test_deadline) << "the test ran past its 20 s";
  std::cout << "DPDK's net_vhost offered the guest features 0x" << std::hex << offered << ", protocol features 0x"
            << protocol << std::dec << "; " << sent_out << " frames out, " << received << " in\n";
}
#endif  // BULWARK_HAVE_VHOST_USER_FRONTEND

}  // namespace
}  // namespace bulwark::test
