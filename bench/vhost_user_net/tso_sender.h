// A guest-less virtio-net driver that only transmits: it negotiates VERSION_1, CSUM and
// HOST_TSO4 with a vhost-user-net backend listening on a unix socket and keeps a few 64 KiB TCP
// frames with a TSO vnet header (gso_size 1448, checksum left to the device) in flight on TX
// queue 1 for a fixed time. The far side segments them (or drops them unsegmented). It uses the
// tests' TestFrontend (16-entry rings in a 4 MiB memfd).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>

#include "bulwark/common/result.h"

namespace bulwark::bench {

struct TsoOptions {
  std::string socket_path;
  std::array<uint8_t, 6> src_mac{};  // the NIC's MAC
  std::array<uint8_t, 6> dst_mac{};
  uint32_t frame_bytes = 65214;  // Ethernet + IPv4 + TCP + 65160 bytes (45 segments of 1448)
  uint16_t in_flight = 8;        // chains of two descriptors: vnet header, frame
  std::chrono::milliseconds duration{5000};
};

struct TsoResult {
  uint64_t frames = 0;
  double seconds = 0;
  uint64_t features = 0;  // what was negotiated
};

Result<TsoResult> send_tso_frames(const TsoOptions& options);

}  // namespace bulwark::bench
