// A frame source for the far side of a network backend: IPv4/UDP frames of one size sent as fast
// as the kernel takes them from an AF_PACKET socket on one interface (qdisc bypassed, sendmmsg
// in bursts, optionally paced to a rate and with a pause after each), for a fixed time. Runs in
// the caller's network namespace.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>

#include "bulwark/common/result.h"

namespace bulwark::bench {

struct BlastOptions {
  std::string ifname;
  std::array<uint8_t, 6> src_mac{};
  std::array<uint8_t, 6> dst_mac{};
  uint32_t frame_bytes = 64;  // Ethernet header to the end of the payload (no FCS), 60..9000
  std::chrono::milliseconds duration{5000};
  uint32_t burst = 64;                 // frames per sendmmsg, 1..1024
  std::chrono::microseconds pause{0};  // sleep at least this long after each burst (0: none)
  uint64_t rate = 0;                   // frames per second to aim at (0: as fast as it can)
};

struct BlastResult {
  uint64_t sent = 0;     // frames the kernel took
  uint64_t refused = 0;  // frames sendmmsg did not take (ENOBUFS, EAGAIN)
  double seconds = 0;
};

Result<BlastResult> blast(const BlastOptions& options);

// "52:54:00:12:34:56" -> bytes.
Result<std::array<uint8_t, 6>> parse_mac(const std::string& text);

}  // namespace bulwark::bench
