#include "bench/vhost_user_net/tso_sender.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "bulwark/common/unique_fd.h"
#include "tests/unit/blk/test_frontend.h"

namespace bulwark::bench {
namespace {

constexpr uint64_t kCsum = 1ull << 0, kMac = 1ull << 5, kHostTso4 = 1ull << 11;
constexpr uint16_t kTxQueue = 1;
constexpr uint16_t kDescNext = 1;
constexpr uint32_t kSegment = 1448;

Result<UniqueFd> connect_backend(const std::string& path, std::chrono::milliseconds patience) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) return Error("socket path too long: " + path);
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  const auto deadline = std::chrono::steady_clock::now() + patience;
  for (;;) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return Error::from_errno("socket", errno);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) return fd;
    if (std::chrono::steady_clock::now() > deadline) return Error::from_errno("connect " + path, errno);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

uint32_t sum16(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>((p[i] << 8) | p[i + 1]);
  if (n % 2) sum += static_cast<uint32_t>(p[n - 1] << 8);
  return sum;
}
uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// Ethernet + IPv4 (198.18.0.2 -> 198.18.0.1, nobody's) + TCP (ACK|PSH), payload bytes counting up.
// The TCP checksum field holds the pseudo-header sum, as a driver leaves it for checksum offload.
std::vector<uint8_t> tcp_frame(const TsoOptions& options) {
  std::vector<uint8_t> frame(options.frame_bytes);
  if (frame.size() < 60) return frame;  // send_tso_frames() refuses such sizes first
  std::memcpy(frame.data(), options.dst_mac.data(), 6);
  std::memcpy(frame.data() + 6, options.src_mac.data(), 6);
  frame[12] = 0x08;
  frame[13] = 0x00;
  uint8_t* ip = frame.data() + 14;
  const uint16_t ip_bytes = static_cast<uint16_t>(options.frame_bytes - 14);
  ip[0] = 0x45;
  ip[2] = static_cast<uint8_t>(ip_bytes >> 8);
  ip[3] = static_cast<uint8_t>(ip_bytes);
  ip[6] = 0x40;  // don't fragment
  ip[8] = 64;
  ip[9] = 6;
  const uint8_t addresses[8] = {198, 18, 0, 2, 198, 18, 0, 1};
  std::memcpy(ip + 12, addresses, 8);
  const uint16_t ip_sum = static_cast<uint16_t>(~fold(sum16(ip, 20)));
  ip[10] = static_cast<uint8_t>(ip_sum >> 8);
  ip[11] = static_cast<uint8_t>(ip_sum);
  uint8_t* tcp = ip + 20;
  tcp[0] = 0x9c, tcp[1] = 0x40;  // 40000
  tcp[2] = 0x13, tcp[3] = 0x89;  // 5001
  tcp[4] = 0, tcp[5] = 0, tcp[6] = 0, tcp[7] = 1;
  tcp[12] = 5 << 4;
  tcp[13] = 0x18;  // ACK | PSH
  tcp[14] = 0xff, tcp[15] = 0xff;
  for (size_t i = 54; i < frame.size(); ++i) frame[i] = static_cast<uint8_t>(i);
  const uint32_t tcp_bytes = ip_bytes - 20u;
  const uint16_t pseudo = fold(sum16(ip + 12, 8, 6 + tcp_bytes));
  tcp[16] = static_cast<uint8_t>(pseudo >> 8);
  tcp[17] = static_cast<uint8_t>(pseudo);
  return frame;
}

}  // namespace

Result<TsoResult> send_tso_frames(const TsoOptions& options) {
  if (options.frame_bytes < 54 + kSegment + 1 || options.frame_bytes > 65535 + 14) {
    return Error("TSO frame size must be larger than one segment and at most 65549 bytes");
  }
  if (options.in_flight == 0 || options.in_flight > test::TestFrontend::kQueueSize / 2) {
    return Error("in flight: 1.." + std::to_string(test::TestFrontend::kQueueSize / 2));
  }
  auto socket = connect_backend(options.socket_path, std::chrono::seconds(10));
  if (!socket.ok()) return socket.error();
  auto frontend = test::TestFrontend::create(std::move(*socket));
  if (!frontend.ok()) return frontend.error();
  test::TestFrontend& f = **frontend;
  BULWARK_TRY(f.start(kCsum | kMac | kHostTso4, 2));
  if ((f.offered_features() & (kCsum | kHostTso4)) != (kCsum | kHostTso4)) {
    return Error("the backend offers no HOST_TSO4 (features " + std::to_string(f.offered_features()) + ")");
  }

  // One vnet header and one frame in guest memory, shared by every chain (the device only reads).
  const uint64_t header_gpa = f.allocate(12);
  const uint64_t frame_gpa = f.allocate(options.frame_bytes);
  uint8_t header[12] = {};
  header[0] = 1;                                   // VIRTIO_NET_HDR_F_NEEDS_CSUM
  header[1] = 1;                                   // VIRTIO_NET_HDR_GSO_TCPV4
  header[2] = 54;                                  // hdr_len
  header[4] = kSegment & 0xff, header[5] = kSegment >> 8;  // gso_size
  header[6] = 34;                                  // csum_start: the TCP header
  header[8] = 16;                                  // csum_offset: its checksum field
  std::memcpy(f.guest(header_gpa), header, sizeof header);
  const std::vector<uint8_t> frame = tcp_frame(options);
  std::memcpy(f.guest(frame_gpa), frame.data(), frame.size());
  for (uint16_t slot = 0; slot < options.in_flight; ++slot) {
    const uint16_t head = static_cast<uint16_t>(2 * slot);
    f.write_descriptor(kTxQueue, head, header_gpa, sizeof header, kDescNext, static_cast<uint16_t>(head + 1));
    f.write_descriptor(kTxQueue, static_cast<uint16_t>(head + 1), frame_gpa, options.frame_bytes, 0, 0);
  }

  // Heads of free chains; a used entry gives its head back.
  std::vector<uint16_t> free_heads;
  for (uint16_t slot = options.in_flight; slot-- > 0;) free_heads.push_back(static_cast<uint16_t>(2 * slot));
  TsoResult result;
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + options.duration;
  uint16_t seen = f.used_index(kTxQueue);
  auto last_progress = start;
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    const uint16_t used = f.used_index(kTxQueue);
    const uint16_t done = static_cast<uint16_t>(used - seen);
    if (done > options.in_flight - free_heads.size()) {
      return Error("the device returned chains that were never offered");
    }
    for (uint16_t i = 0; i < done; ++i) {
      const uint8_t* element = f.guest(test::TestFrontend::used_gpa(kTxQueue)) + 4 +
                               8 * ((seen + i) % test::TestFrontend::kQueueSize);
      uint32_t head = 0;
      std::memcpy(&head, element, 4);
      if (head >= 2u * options.in_flight || head % 2 != 0) return Error("used head " + std::to_string(head));
      free_heads.push_back(static_cast<uint16_t>(head));
    }
    seen = used;
    result.frames += done;
    if (done > 0) last_progress = now;
    if (now >= deadline) {
      if (free_heads.size() == options.in_flight) break;
      if (now - deadline > std::chrono::seconds(2)) return Error("chains still in the device 2 s after the end");
    } else if (!free_heads.empty()) {
      while (!free_heads.empty()) {
        f.offer(kTxQueue, free_heads.back());
        free_heads.pop_back();
      }
      BULWARK_TRY(f.kick(kTxQueue));
    }
    if (done == 0) {
      if (now - last_progress > std::chrono::seconds(5)) return Error("no TX chain came back for 5 s");
      std::this_thread::yield();
    }
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.features = f.offered_features();
  return result;
}

}  // namespace bulwark::bench
