// Builders for what a guest puts on the vsock tx queue, shared by the vsock unit tests.
#pragma once

#include <cstdint>
#include <vector>

#include "devices/vsock/packet.h"

namespace bulwark::vsock::testing {

inline constexpr uint64_t kGuestCid = 3;

// A header from the guest (port 1234) to host port 52, credit 64 KiB / fwd_cnt 0.
inline Header guest_header(Op op, uint32_t len = 0, uint32_t flags = 0) {
  Header h;
  h.src_cid = kGuestCid;
  h.dst_cid = kHostCid;
  h.src_port = 1234;
  h.dst_port = 52;
  h.len = len;
  h.op = op;
  h.flags = flags;
  h.buf_alloc = 64 * 1024;
  return h;
}

inline std::vector<uint8_t> guest_bytes(const Header& h, size_t payload_len) {
  std::vector<uint8_t> out(kHeaderSize + payload_len, 0xab);
  encode_header(h, std::span<uint8_t, kHeaderSize>(out.data(), kHeaderSize));
  return out;
}

}  // namespace bulwark::vsock::testing
