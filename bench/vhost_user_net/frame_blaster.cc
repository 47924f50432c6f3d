#include "bench/vhost_user_net/frame_blaster.h"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <ctime>
#include <vector>

#include "bulwark/common/unique_fd.h"

namespace bulwark::bench {

Result<std::array<uint8_t, 6>> parse_mac(const std::string& text) {
  std::array<uint8_t, 6> mac{};
  unsigned b[6];
  char tail = 0;
  if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6) {
    return Error("not a MAC address: " + text);
  }
  for (int i = 0; i < 6; ++i) {
    if (b[i] > 0xff) return Error("not a MAC address: " + text);
    mac[static_cast<size_t>(i)] = static_cast<uint8_t>(b[i]);
  }
  return mac;
}

namespace {

// Ethernet + IPv4 (198.18.0.2 -> 198.18.0.1, header checksum filled) + UDP (9 -> 9, no checksum),
// zero payload. Addresses that are nobody's: whatever receives the frame drops it.
std::vector<uint8_t> udp_frame(const BlastOptions& options) {
  std::vector<uint8_t> frame(options.frame_bytes, 0);
  if (frame.size() < 60) return frame;  // blast() refuses such sizes first
  std::memcpy(frame.data(), options.dst_mac.data(), 6);
  std::memcpy(frame.data() + 6, options.src_mac.data(), 6);
  frame[12] = 0x08;
  uint8_t* ip = frame.data() + 14;
  const uint16_t ip_bytes = static_cast<uint16_t>(options.frame_bytes - 14);
  ip[0] = 0x45;
  ip[2] = static_cast<uint8_t>(ip_bytes >> 8);
  ip[3] = static_cast<uint8_t>(ip_bytes);
  ip[8] = 64;
  ip[9] = 17;
  const uint8_t addresses[8] = {198, 18, 0, 2, 198, 18, 0, 1};
  std::memcpy(ip + 12, addresses, 8);
  uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += static_cast<uint32_t>((ip[i] << 8) | ip[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  ip[10] = static_cast<uint8_t>(~sum >> 8);
  ip[11] = static_cast<uint8_t>(~sum);
  uint8_t* udp = ip + 20;
  udp[1] = 9;
  udp[3] = 9;
  const uint16_t udp_bytes = static_cast<uint16_t>(ip_bytes - 20);
  udp[4] = static_cast<uint8_t>(udp_bytes >> 8);
  udp[5] = static_cast<uint8_t>(udp_bytes);
  return frame;
}

}  // namespace

Result<BlastResult> blast(const BlastOptions& options) {
  if (options.frame_bytes < 60 || options.frame_bytes > 9000) return Error("frame size must be 60..9000 bytes");
  if (options.burst < 1 || options.burst > 1024) return Error("burst must be 1..1024 frames");
  UniqueFd socket(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));  // protocol 0: receives nothing
  if (!socket.valid()) return Error::from_errno("socket AF_PACKET", errno);
  const int on = 1;
  if (::setsockopt(socket.get(), SOL_PACKET, PACKET_QDISC_BYPASS, &on, sizeof on) != 0) {
    return Error::from_errno("PACKET_QDISC_BYPASS", errno);
  }
  const int buffer = 4 << 20;
  ::setsockopt(socket.get(), SOL_SOCKET, SO_SNDBUFFORCE, &buffer, sizeof buffer);
  sockaddr_ll local{};
  local.sll_family = AF_PACKET;
  local.sll_ifindex = static_cast<int>(::if_nametoindex(options.ifname.c_str()));
  if (local.sll_ifindex == 0) return Error::from_errno("if_nametoindex " + options.ifname, errno);
  if (::bind(socket.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
    return Error::from_errno("bind AF_PACKET " + options.ifname, errno);
  }

  std::vector<uint8_t> frame = udp_frame(options);
  iovec iov{frame.data(), frame.size()};
  std::vector<mmsghdr> messages(options.burst);
  for (auto& m : messages) {
    m.msg_hdr = msghdr{};
    m.msg_hdr.msg_iov = &iov;
    m.msg_hdr.msg_iovlen = 1;
  }
  // Pacing: burst k is due at start + k * burst / rate; a source that falls more than 1 ms behind
  // forgets the debt instead of sending flat out to catch up. After each burst it sleeps until
  // the next is due, and at least `pause`.
  using Clock = std::chrono::steady_clock;
  const auto interval = options.rate > 0 ? std::chrono::duration_cast<Clock::duration>(
                                               std::chrono::duration<double>(double(options.burst) / double(options.rate)))
                                         : Clock::duration::zero();
  BlastResult result;
  const auto start = Clock::now();
  const auto deadline = start + options.duration;
  auto due = start;
  for (auto now = start; now < deadline; now = Clock::now()) {
    const int n = ::sendmmsg(socket.get(), messages.data(), options.burst, 0);
    if (n < 0) {
      if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR) return Error::from_errno("sendmmsg", errno);
      result.refused += options.burst;
    } else {
      result.sent += static_cast<uint64_t>(n);
      result.refused += options.burst - static_cast<uint64_t>(n);
    }
    due += interval;
    now = Clock::now();
    if (now - due > std::chrono::milliseconds(1)) due = now;
    auto wake = std::max(due, now + options.pause);
    if (wake > now) {
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wake - now).count();
      const timespec sleep{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
      ::nanosleep(&sleep, nullptr);
    }
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

}  // namespace bulwark::bench
