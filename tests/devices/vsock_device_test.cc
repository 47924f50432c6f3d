// bulwark-dev-vsock as a process under its seccomp policy, driven by a raw test guest
// (RawVsockGuest over the guest-less TestFrontend) and real host unix sockets: guest-initiated
// connections both ways, refusals, the hostile cases (wrong CID, packets for no connection,
// credit overrun, credit lie, a REQUEST over the ceiling) each reset or dropped while the
// device stays up, and a host peer that stops reading throttling only its own connection.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "bulwark/common/unique_fd.h"
#include "tests/devices/vsock_raw_guest.h"

namespace bulwark::test {
namespace {

using vsock::Op;

// The device process on one end of a socketpair (--socket-fd 3), binding <dir>/v.sock itself.
class VsockDeviceProcess : public ::testing::Test {
 protected:
  void start(std::vector<std::string> extra = {}, rlim_t max_fds = 0) {
    // Short: <uds>_<port> must fit a sockaddr_un.
    static int started = 0;
    dir_ = std::filesystem::temp_directory_path() /
           ("bulwark-vsock-" + std::to_string(::getpid()) + "-" + std::to_string(++started));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    uds_ = (dir_ / "v.sock").string();
    log_path_ = (dir_ / "device.log").string();
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    UniqueFd ours(pair[0]), theirs(pair[1]);
    std::vector<std::string> args{BULWARK_DEV_VSOCK, "--socket-fd", "3", "--guest-cid", "3", "--uds-path", uds_,
                                  "--seccomp", "enforce"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    UniqueFd log(::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    pid_ = ::fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      if (::dup2(theirs.get(), 3) < 0 || ::dup2(log.get(), 2) < 0) ::_exit(120);
      const rlimit limit{max_fds, max_fds};
      if (max_fds != 0 && ::setrlimit(RLIMIT_NOFILE, &limit) != 0) ::_exit(122);
      ::execv(argv[0], argv.data());
      ::_exit(121);
    }
    auto frontend = TestFrontend::create(std::move(ours));
    ASSERT_TRUE(frontend.ok()) << frontend.error().message();
    frontend_ = std::move(*frontend);
    ASSERT_TRUE(frontend_->start(0, 3).ok()) << device_log();
    guest_.emplace(*frontend_);
  }

  void TearDown() override {
    guest_.reset();
    frontend_.reset();
    if (pid_ > 0) {
      int status = 0;
      for (int i = 0; i < 500 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      if (::waitpid(pid_, &status, WNOHANG) == 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
      }
      pid_ = -1;
    }
    std::filesystem::remove_all(dir_);
  }

  // The device exits once the frontend goes; its stderr, with the summary line.
  std::string stop_and_log() {
    guest_.reset();
    frontend_.reset();
    int status = 0;
    for (int i = 0; i < 500 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "wait status " << status << "\n" << device_log();
    pid_ = -1;
    return device_log();
  }

  std::string device_log() const {
    std::ifstream in(log_path_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  UniqueFd host_listener(uint32_t port) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::string path = uds_ + "_" + std::to_string(port);
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(fd.get(), 8) != 0)
      return UniqueFd();
    return fd;
  }

  static UniqueFd accept_within(int listener, int ms = 3000) {
    pollfd p{listener, POLLIN, 0};
    if (::poll(&p, 1, ms) != 1) return UniqueFd();
    return UniqueFd(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
  }

  // Bytes from a non-blocking host socket until `n` came or `ms` passed.
  static std::string read_host(int fd, size_t n, int ms = 3000) {
    std::string out;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) != 1) continue;
      char buffer[65536];
      const ssize_t got = ::read(fd, buffer, std::min(sizeof buffer, n - out.size()));
      if (got <= 0) break;
      out.append(buffer, static_cast<size_t>(got));
    }
    return out;
  }

  static bool closed_within(int fd, int ms) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, ms) != 1) return false;
    char byte;
    return ::recv(fd, &byte, 1, MSG_DONTWAIT) == 0;
  }

  // The next rx packet for guest port `guest_port`, skipping credit updates unless asked.
  std::optional<VsockRxPacket> next_for(uint32_t guest_port, bool skip_credit = true) {
    for (int i = 0; i < 64; ++i) {
      auto packet = guest_->receive();
      if (!packet) return std::nullopt;
      if (packet->header.dst_port != guest_port) continue;
      if (skip_credit && packet->header.op == Op::kCreditUpdate) continue;
      return packet;
    }
    return std::nullopt;
  }

  // REQUEST from guest port `gp` to host port `hp`; the RESPONSE, or nullopt.
  std::optional<VsockRxPacket> open(uint32_t gp, uint32_t hp, uint32_t buf_alloc = 65536) {
    EXPECT_TRUE(guest_->send(RawVsockGuest::header(Op::kRequest, gp, hp, buf_alloc)).ok());
    return next_for(gp);
  }

  std::filesystem::path dir_;
  std::string uds_, log_path_;
  pid_t pid_ = -1;
  std::unique_ptr<TestFrontend> frontend_;
  std::optional<RawVsockGuest> guest_;
};

std::span<const uint8_t> bytes_of(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

TEST_F(VsockDeviceProcess, GuestConnectsToAHostPortAndBytesFlowBothWays) {
  ASSERT_NO_FATAL_FAILURE(start());
  UniqueFd listener = host_listener(5000);
  ASSERT_TRUE(listener.valid());
  auto response = open(1000, 5000);
  ASSERT_TRUE(response.has_value()) << device_log();
  EXPECT_EQ(response->header.op, Op::kResponse);
  EXPECT_EQ(response->header.src_cid, vsock::kHostCid);
  EXPECT_EQ(response->header.dst_cid, 3u);
  EXPECT_EQ(response->header.src_port, 5000u);
  UniqueFd host = accept_within(listener.get());
  ASSERT_TRUE(host.valid());

  ASSERT_TRUE(guest_->send(RawVsockGuest::header(Op::kRw, 1000, 5000), bytes_of("hello host")).ok());
  EXPECT_EQ(read_host(host.get(), 10), "hello host");
  ASSERT_EQ(::write(host.get(), "hello guest", 11), 11);
  auto rw = next_for(1000);
  ASSERT_TRUE(rw.has_value());
  EXPECT_EQ(rw->header.op, Op::kRw);
  EXPECT_EQ(std::string(rw->payload.begin(), rw->payload.end()), "hello guest");
  // The host closes: SHUTDOWN(SEND) to the guest.
  host.reset();
  auto shutdown = next_for(1000);
  ASSERT_TRUE(shutdown.has_value());
  EXPECT_EQ(shutdown->header.op, Op::kShutdown);
  const std::string log = stop_and_log();
  EXPECT_NE(log.find("1 opened by the guest"), std::string::npos) << log;
}

TEST_F(VsockDeviceProcess, NobodyListeningGetsTheGuestAnRst) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto answer = open(1001, 6000);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->header.op, Op::kRst);
  EXPECT_NE(stop_and_log().find("guest_connect_refused=1"), std::string::npos);
}

TEST_F(VsockDeviceProcess, HostileGuestPacketsAreResetOrDroppedAndTheDeviceStaysUp) {
  ASSERT_NO_FATAL_FAILURE(start({"--buf-alloc", "4096", "--max-connections", "2"}));
  UniqueFd listener = host_listener(5000);
  // A packet claiming another source CID: dropped, no answer.
  vsock::Header foreign = RawVsockGuest::header(Op::kRequest, 2000, 5000);
  foreign.src_cid = 4;
  ASSERT_TRUE(guest_->send(foreign).ok());
  EXPECT_FALSE(guest_->receive(std::chrono::milliseconds(200)).has_value());
  // Bytes for a connection that does not exist: RST.
  ASSERT_TRUE(guest_->send(RawVsockGuest::header(Op::kRw, 2001, 5000), bytes_of("x")).ok());
  auto rst = next_for(2001);
  ASSERT_TRUE(rst.has_value());
  EXPECT_EQ(rst->header.op, Op::kRst);
  // More than our buf_alloc (4096) in one go: reset, and the host peer is closed.
  ASSERT_TRUE(open(2002, 5000).has_value());
  UniqueFd overrun_peer = accept_within(listener.get());
  ASSERT_TRUE(overrun_peer.valid());
  std::vector<uint8_t> big(4097, 'o');
  ASSERT_TRUE(guest_->send(RawVsockGuest::header(Op::kRw, 2002, 5000), big).ok());
  auto reset = next_for(2002);
  ASSERT_TRUE(reset.has_value());
  EXPECT_EQ(reset->header.op, Op::kRst);
  EXPECT_TRUE(closed_within(overrun_peer.get(), 2000));
  // A fwd_cnt acknowledging bytes we never sent: a credit lie, reset.
  ASSERT_TRUE(open(2003, 5000).has_value());
  UniqueFd lied_to = accept_within(listener.get());
  ASSERT_TRUE(guest_->send(RawVsockGuest::header(Op::kCreditUpdate, 2003, 5000, 65536, 100)).ok());
  auto lie = next_for(2003);
  ASSERT_TRUE(lie.has_value());
  EXPECT_EQ(lie->header.op, Op::kRst);
  // The ceiling (2): two open, a third REQUEST refused.
  ASSERT_TRUE(open(2004, 5000).has_value());
  ASSERT_TRUE(open(2005, 5000).has_value());
  auto over = open(2006, 5000);
  ASSERT_TRUE(over.has_value());
  EXPECT_EQ(over->header.op, Op::kRst);
  // Still serving: the open connections carry bytes.
  UniqueFd a = accept_within(listener.get());
  ASSERT_TRUE(a.valid());
  ASSERT_TRUE(guest_->send(RawVsockGuest::header(Op::kRw, 2004, 5000), bytes_of("still up")).ok());
  EXPECT_EQ(read_host(a.get(), 8), "still up");
  // A truncated packet: dropped.
  const uint8_t runt[10] = {};
  ASSERT_TRUE(guest_->send_raw(runt).ok());
  const std::string log = stop_and_log();
  for (const char* counter : {"tx_malformed=2", "guest_unknown_connection=1", "guest_credit_overrun=1",
                              "guest_credit_lie=1", "guest_cap_refused=1"}) {
    EXPECT_NE(log.find(counter), std::string::npos) << counter << " not in\n" << log;
  }
}

// Guest to host with a host peer that stops reading: the guest's credit for that connection
// runs out (nothing is lost or reset), another connection keeps working, and once the peer
// reads again every byte arrives and the credit comes back.
TEST_F(VsockDeviceProcess, AStuckHostPeerThrottlesOnlyItsOwnConnection) {
  ASSERT_NO_FATAL_FAILURE(start({"--buf-alloc", "16384"}));
  UniqueFd stuck_listener = host_listener(5000), live_listener = host_listener(5001);
  ASSERT_TRUE(open(3000, 5000).has_value());
  UniqueFd stuck = accept_within(stuck_listener.get());
  ASSERT_TRUE(stuck.valid());
  // Send as the credit allows (buf_alloc - (sent - fwd_cnt)) until it stays at 0.
  const uint32_t buf_alloc = 16384;
  uint32_t sent = 0, fwd_cnt = 0;
  std::vector<uint8_t> chunk(4096);
  bool throttled = false;
  for (int round = 0; round < 2000 && !throttled; ++round) {
    const uint32_t credit = buf_alloc - (sent - fwd_cnt);
    if (credit > 0) {
      const uint32_t n = std::min<uint32_t>(credit, static_cast<uint32_t>(chunk.size()));
      for (uint32_t i = 0; i < n; ++i) chunk[i] = static_cast<uint8_t>(sent + i);
      ASSERT_TRUE(guest_->send(RawVsockGuest::header(Op::kRw, 3000, 5000),
                               std::span<const uint8_t>(chunk.data(), n)).ok());
      sent += n;
      continue;
    }
    // Out of credit: wait for an update; none for a while means the host peer is stuck.
    ASSERT_TRUE(guest_->send(RawVsockGuest::header(Op::kCreditRequest, 3000, 5000)).ok());
    // Every update that came (the device also sends them unasked): the latest counts.
    const uint32_t before = fwd_cnt;
    while (auto update = guest_->receive(std::chrono::milliseconds(100))) {
      ASSERT_NE(update->header.op, Op::kRst) << device_log();
      if (update->header.dst_port == 3000) fwd_cnt = update->header.fwd_cnt;
    }
    throttled = fwd_cnt == before;
  }
  ASSERT_TRUE(throttled) << "the credit never ran out after " << sent << " bytes";
  std::cout << "throttled after " << sent << " bytes, " << (sent - fwd_cnt) << " held by the device\n";
  // The host socket's buffer took its fill before the device had to hold bytes back.
  EXPECT_GT(sent, 4 * buf_alloc);
  EXPECT_EQ(sent - fwd_cnt, buf_alloc);
  // The other connection is unaffected.
  ASSERT_TRUE(open(3001, 5001).has_value());
  UniqueFd live = accept_within(live_listener.get());
  ASSERT_TRUE(guest_->send(RawVsockGuest::header(Op::kRw, 3001, 5001), bytes_of("not stuck")).ok());
  EXPECT_EQ(read_host(live.get(), 9), "not stuck");
  ASSERT_EQ(::write(live.get(), "pong", 4), 4);
  auto pong = next_for(3001);
  ASSERT_TRUE(pong.has_value());
  EXPECT_EQ(std::string(pong->payload.begin(), pong->payload.end()), "pong");
  // The stuck peer reads again: every byte, in order, and the guest gets its credit back.
  const std::string got = read_host(stuck.get(), sent, 5000);
  ASSERT_EQ(got.size(), sent);
  for (uint32_t i = 0; i < sent; ++i) {
    ASSERT_EQ(static_cast<uint8_t>(got[i]), static_cast<uint8_t>(i)) << "byte " << i;
  }
  ASSERT_TRUE(guest_->send(RawVsockGuest::header(Op::kCreditRequest, 3000, 5000)).ok());
  auto update = next_for(3000, false);
  ASSERT_TRUE(update.has_value());
  EXPECT_EQ(update->header.fwd_cnt, sent);
  const std::string log = stop_and_log();
  EXPECT_EQ(log.find("guest_credit_overrun"), std::string::npos) << log;
}

// A host client's CONNECT: the guest gets a REQUEST from a host port in [2^30, 2^31); its
// RESPONSE gets the client "OK <port>\n" and the bytes flow; a guest that refuses (RST) or
// never answers gets the client closed (the latter after --connect-timeout-ms, with an RST).
TEST_F(VsockDeviceProcess, HostClientsConnectAndAreClosedWhenTheGuestRefusesOrNeverAnswers) {
  ASSERT_NO_FATAL_FAILURE(start({"--connect-timeout-ms", "300"}));
  auto client = [&](std::string_view line) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, uds_.c_str(), sizeof address.sun_path - 1);
    EXPECT_EQ(::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(::write(fd.get(), line.data(), line.size()), static_cast<ssize_t>(line.size()));
    return fd;
  };
  // Accepted, with bytes right behind the line.
  UniqueFd accepted = client("CONNECT 77\nearly");
  auto request = next_for(77);
  ASSERT_TRUE(request.has_value()) << device_log();
  EXPECT_EQ(request->header.op, Op::kRequest);
  const uint32_t host_port = request->header.src_port;
  EXPECT_EQ(host_port, 1u << 30);
  vsock::Header response = RawVsockGuest::header(Op::kResponse, 77, host_port);
  ASSERT_TRUE(guest_->send(response).ok());
  EXPECT_EQ(read_host(accepted.get(), 14), "OK 1073741824\n");
  auto early = next_for(77);
  ASSERT_TRUE(early.has_value());
  EXPECT_EQ(std::string(early->payload.begin(), early->payload.end()), "early");
  ASSERT_TRUE(guest_->send(RawVsockGuest::header(Op::kRw, 77, host_port), bytes_of("to host")).ok());
  EXPECT_EQ(read_host(accepted.get(), 7), "to host");
  // Refused by the guest: closed without OK.
  UniqueFd refused = client("CONNECT 78\n");
  auto request2 = next_for(78);
  ASSERT_TRUE(request2.has_value());
  ASSERT_TRUE(guest_->send(RawVsockGuest::header(Op::kRst, 78, request2->header.src_port)).ok());
  EXPECT_TRUE(closed_within(refused.get(), 2000));
  // Never answered: closed after the timeout, and the guest told with an RST.
  UniqueFd ignored = client("CONNECT 79\n");
  auto request3 = next_for(79);
  ASSERT_TRUE(request3.has_value());
  EXPECT_FALSE(closed_within(ignored.get(), 100));
  EXPECT_TRUE(closed_within(ignored.get(), 2000));
  auto rst = next_for(79);
  ASSERT_TRUE(rst.has_value());
  EXPECT_EQ(rst->header.op, Op::kRst);
  const std::string log = stop_and_log();
  EXPECT_NE(log.find("host_connect_timeout=1"), std::string::npos) << log;
  EXPECT_NE(log.find("3 by host clients"), std::string::npos) << log;
}

// CPU time (user + system, in clock ticks) the process has used.
long cpu_ticks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) stime = std::stol(field);
  }
  return utime + stime;
}

// Out of fds (a low RLIMIT_NOFILE): host clients beyond what the device can accept wait in
// the backlog, the device neither dies nor spins on its ready listener, and it still serves
// the guest.
TEST_F(VsockDeviceProcess, RunningOutOfFdsNeitherKillsNorSpinsTheDevice) {
  ASSERT_NO_FATAL_FAILURE(start({}, 24));
  std::vector<UniqueFd> clients;
  for (int i = 0; i < 24; ++i) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, uds_.c_str(), sizeof address.sun_path - 1);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) {
      clients.push_back(std::move(fd));
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const long before = cpu_ticks(pid_);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const long used = cpu_ticks(pid_) - before;
  EXPECT_LT(used, 30) << "the device used " << used << " ticks of CPU in 1 s while out of fds";
  // Still serving the guest.
  auto answer = open(4000, 6000);
  ASSERT_TRUE(answer.has_value()) << device_log();
  EXPECT_EQ(answer->header.op, Op::kRst);
  const std::string log = stop_and_log();
  EXPECT_NE(log.find("host_io_error="), std::string::npos) << log;
}

}  // namespace
}  // namespace bulwark::test
