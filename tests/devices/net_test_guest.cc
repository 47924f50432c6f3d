#include "tests/devices/net_test_guest.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace bulwark::test {

namespace {

constexpr uint16_t kDescNext = 1;
constexpr uint16_t kDescWrite = 2;

uint16_t ip_checksum(std::span<const uint8_t> bytes) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < bytes.size(); i += 2) sum += (uint32_t{bytes[i]} << 8) | bytes[i + 1];
  if (bytes.size() % 2 != 0) sum += uint32_t{bytes.back()} << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

}  // namespace

NetDeviceRun::~NetDeviceRun() {
  if (pid > 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
}

int NetDeviceRun::wait(std::chrono::milliseconds timeout) {
  if (pid <= 0) return -1;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  pid = -1;
  return status;
}

std::string NetDeviceRun::log() const {
  std::ifstream in(log_path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<NetDeviceRun> start_net_device(const std::vector<int>& tap_fds, const std::vector<std::string>& args,
                                      const std::string& log_path, const std::string& listen_path) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return Error::from_errno("socketpair", errno);
  UniqueFd ours(pair[0]);
  UniqueFd theirs(pair[1]);
  UniqueFd log(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!log.valid()) return Error::from_errno("open " + log_path, errno);
  std::vector<std::string> argv_strings{BULWARK_DEV_NET};
  if (listen_path.empty()) {
    argv_strings.insert(argv_strings.end(), {"--socket-fd", "3"});
  } else {
    argv_strings.insert(argv_strings.end(), {"--socket", listen_path});
  }
  for (size_t i = 0; i < tap_fds.size(); ++i) {
    argv_strings.push_back("--tap-fd");
    argv_strings.push_back(std::to_string(4 + i));
  }
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return Error::from_errno("fork", errno);
  if (pid == 0) {
    // Copies out of the way first, then each to its number (dup2 clears close-on-exec).
    const int socket_copy = ::fcntl(theirs.get(), F_DUPFD_CLOEXEC, 100);
    std::vector<int> tap_copies;
    for (int fd : tap_fds) tap_copies.push_back(::fcntl(fd, F_DUPFD_CLOEXEC, 100));
    if (listen_path.empty() && (socket_copy < 0 || ::dup2(socket_copy, 3) < 0)) ::_exit(120);
    for (size_t i = 0; i < tap_copies.size(); ++i) {
      if (tap_copies[i] < 0 || ::dup2(tap_copies[i], static_cast<int>(4 + i)) < 0) ::_exit(121);
    }
    if (::dup2(log.get(), 2) < 0) ::_exit(123);
    ::execv(argv[0], argv.data());
    ::_exit(122);
  }
  NetDeviceRun run;
  run.pid = pid;
  run.socket = std::move(ours);
  run.log_path = log_path;
  return run;
}

std::vector<uint8_t> udp_frame(const Mac& dst, const Mac& src, const std::string& src_ip, const std::string& dst_ip,
                               uint16_t src_port, uint16_t dst_port, std::span<const uint8_t> payload) {
  std::vector<uint8_t> frame(14 + 20 + 8 + payload.size());
  std::memcpy(frame.data(), dst.data(), 6);
  std::memcpy(frame.data() + 6, src.data(), 6);
  frame[12] = 0x08;
  frame[13] = 0x00;
  uint8_t* ip = frame.data() + 14;
  const uint16_t total = static_cast<uint16_t>(20 + 8 + payload.size());
  ip[0] = 0x45;
  ip[2] = static_cast<uint8_t>(total >> 8);
  ip[3] = static_cast<uint8_t>(total);
  ip[6] = 0x40;  // don't fragment
  ip[8] = 64;
  ip[9] = 17;  // UDP
  ::inet_pton(AF_INET, src_ip.c_str(), ip + 12);
  ::inet_pton(AF_INET, dst_ip.c_str(), ip + 16);
  const uint16_t sum = ip_checksum({ip, 20});
  ip[10] = static_cast<uint8_t>(sum >> 8);
  ip[11] = static_cast<uint8_t>(sum);
  uint8_t* udp = ip + 20;
  const uint16_t udp_len = static_cast<uint16_t>(8 + payload.size());
  udp[0] = static_cast<uint8_t>(src_port >> 8);
  udp[1] = static_cast<uint8_t>(src_port);
  udp[2] = static_cast<uint8_t>(dst_port >> 8);
  udp[3] = static_cast<uint8_t>(dst_port);
  udp[4] = static_cast<uint8_t>(udp_len >> 8);
  udp[5] = static_cast<uint8_t>(udp_len);
  if (!payload.empty()) std::memcpy(udp + 8, payload.data(), payload.size());
  return frame;
}

uint64_t fnv1a(std::span<const uint8_t> bytes, uint64_t seed) {
  uint64_t hash = seed;
  for (uint8_t b : bytes) {
    hash ^= b;
    hash *= 1099511628211ull;
  }
  return hash;
}

Result<std::unique_ptr<NetTestGuest>> NetTestGuest::start(UniqueFd socket, uint64_t device_features, uint16_t pairs) {
  auto frontend = TestFrontend::create(std::move(socket));
  if (!frontend.ok()) return frontend.error();
  BULWARK_TRY((*frontend)->start(device_features, static_cast<uint16_t>(2 * pairs + 1)));
  std::unique_ptr<NetTestGuest> guest(new NetTestGuest(std::move(*frontend)));
  guest->ctrl_ = static_cast<uint16_t>(2 * pairs);
  guest->tx_area_ = guest->frontend_->allocate(70000);
  guest->ctrl_area_ = guest->frontend_->allocate(4096);
  return guest;
}

Status NetTestGuest::wait_used(uint16_t q, uint16_t target, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (static_cast<int16_t>(frontend_->used_index(q) - target) < 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      return Error("queue " + std::to_string(q) + ": used index " + std::to_string(frontend_->used_index(q)) +
                   ", waited for " + std::to_string(target));
    }
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  return ok_status();
}

Status NetTestGuest::send(std::span<const uint8_t> header, std::span<const uint8_t> frame, int pieces) {
  if (pieces < 1 || pieces > 8 || frame.size() + header.size() > 70000) return Error("send: bad request");
  std::memcpy(frontend_->guest(tx_area_), header.data(), header.size());
  if (!frame.empty()) std::memcpy(frontend_->guest(tx_area_ + header.size()), frame.data(), frame.size());
  std::vector<std::pair<size_t, size_t>> parts;  // offset, length
  const size_t piece = std::max<size_t>(1, (frame.size() + pieces - 1) / pieces);
  for (size_t at = 0; at < frame.size(); at += piece) parts.emplace_back(at, std::min(piece, frame.size() - at));
  frontend_->write_descriptor(kTx, 0, tx_area_, static_cast<uint32_t>(header.size()), parts.empty() ? 0 : kDescNext, 1);
  for (size_t i = 0; i < parts.size(); ++i) {
    const bool last = i + 1 == parts.size();
    frontend_->write_descriptor(kTx, static_cast<uint16_t>(i + 1), tx_area_ + header.size() + parts[i].first,
                                static_cast<uint32_t>(parts[i].second), last ? 0 : kDescNext,
                                static_cast<uint16_t>(i + 2));
  }
  const uint16_t target = static_cast<uint16_t>(frontend_->used_index(kTx) + 1);
  frontend_->offer(kTx, 0);
  BULWARK_TRY(frontend_->kick(kTx));
  return wait_used(kTx, target, std::chrono::seconds(5));
}

void NetTestGuest::post_rx_buffers(uint16_t count, uint32_t size, uint16_t queue) {
  RxQueue& rx = rx_[queue / 2];
  rx.size = size;
  rx.area = frontend_->allocate(uint64_t{count} * size);
  for (uint16_t i = 0; i < count; ++i) {
    frontend_->write_descriptor(queue, i, rx.area + uint64_t{i} * size, size, kDescWrite, 0);
    frontend_->offer(queue, i);
  }
  (void)frontend_->kick(queue);
}

Result<std::vector<uint8_t>> NetTestGuest::receive(std::chrono::milliseconds timeout, uint16_t queue) {
  RxQueue& rx = rx_[queue / 2];
  std::vector<uint8_t> packet;
  uint16_t buffers = 1;
  for (uint16_t i = 0; i < buffers; ++i) {
    BULWARK_TRY(wait_used(queue, static_cast<uint16_t>(rx.seen + 1), timeout));
    const uint8_t* element = frontend_->guest(TestFrontend::used_gpa(queue)) + 4 + 8 * (rx.seen % TestFrontend::kQueueSize);
    uint32_t head = 0, length = 0;
    std::memcpy(&head, element, 4);
    std::memcpy(&length, element + 4, 4);
    ++rx.seen;
    if (head >= TestFrontend::kQueueSize || length > rx.size) {
      return Error("used RX element: head " + std::to_string(head) + " length " + std::to_string(length));
    }
    const uint8_t* data = frontend_->guest(rx.area + uint64_t{head} * rx.size);
    packet.insert(packet.end(), data, data + length);
    if (i == 0) {
      if (length < 12) return Error("an RX buffer without a whole vnet header");
      buffers = static_cast<uint16_t>(packet[10] | (packet[11] << 8));
      if (buffers == 0) return Error("num_buffers 0");
    }
    frontend_->offer(queue, static_cast<uint16_t>(head));
  }
  (void)frontend_->kick(queue);
  return packet;
}

Result<uint8_t> NetTestGuest::control(std::span<const uint8_t> command) {
  std::memcpy(frontend_->guest(ctrl_area_), command.data(), command.size());
  uint8_t* ack = frontend_->guest(ctrl_area_ + 2048);
  *ack = 0xee;
  frontend_->write_descriptor(ctrl_, 0, ctrl_area_, static_cast<uint32_t>(command.size()), kDescNext, 1);
  frontend_->write_descriptor(ctrl_, 1, ctrl_area_ + 2048, 1, kDescWrite, 0);
  const uint16_t target = static_cast<uint16_t>(frontend_->used_index(ctrl_) + 1);
  frontend_->offer(ctrl_, 0);
  BULWARK_TRY(frontend_->kick(ctrl_));
  BULWARK_TRY(wait_used(ctrl_, target, std::chrono::seconds(5)));
  return *ack;
}

}  // namespace bulwark::test
