// The virtio-vsock packet header (virtio 1.2, 5.10.6 "Device Operation", struct
// virtio_vsock_hdr): 44 bytes, little-endian, in front of every packet on the tx and rx
// queues. parse_guest_packet checks what the guest (tenant) puts on the tx queue before the
// device acts on it; encode_header builds the device's own packets for the rx queue. Pure.
//
// Layout: src_cid u64 | dst_cid u64 | src_port u32 | dst_port u32 | len u32 | type u16 |
// op u16 | flags u32 | buf_alloc u32 | fwd_cnt u32.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "bulwark/common/result.h"

namespace bulwark::vsock {

inline constexpr size_t kHeaderSize = 44;
inline constexpr uint64_t kHostCid = 2;  // VMADDR_CID_HOST: the device's side
// Largest payload the device takes in one packet. Linux's guest driver sends at most
// VIRTIO_VSOCK_MAX_PKT_BUF_SIZE (64 KiB) per packet; more is refused.
inline constexpr uint32_t kMaxPayload = 64 * 1024;

inline constexpr uint16_t kTypeStream = 1;  // SEQPACKET (2) is not offered

enum class Op : uint16_t {
  kRequest = 1,
  kResponse = 2,
  kRst = 3,
  kShutdown = 4,
  kRw = 5,
  kCreditUpdate = 6,
  kCreditRequest = 7,
};
const char* op_name(Op op);

// SHUTDOWN flags: the sender will receive no more (RCV) / send no more (SEND).
inline constexpr uint32_t kShutdownRcv = 1;
inline constexpr uint32_t kShutdownSend = 2;
inline constexpr uint32_t kShutdownBoth = kShutdownRcv | kShutdownSend;

struct Header {
  uint64_t src_cid = 0, dst_cid = 0;
  uint32_t src_port = 0, dst_port = 0, len = 0;
  uint16_t type = kTypeStream;
  Op op = Op::kRst;
  uint32_t flags = 0, buf_alloc = 0, fwd_cnt = 0;

  bool operator==(const Header&) const = default;
};

struct GuestPacket {
  Header header;
  std::span<const uint8_t> payload;  // inside the bytes given; empty unless op is RW
};

// Checks one packet from the guest's tx queue: `bytes` is the whole chain's readable content
// (header then payload). Refused (Error, message says what and why):
//  - fewer than kHeaderSize bytes;
//  - len above kMaxPayload, or len not equal to the bytes present after the header;
//  - type other than STREAM; op not one of REQUEST..CREDIT_REQUEST;
//  - src_cid other than guest_cid (the device's configured CID), dst_cid other than the host;
//  - flags on an op other than SHUTDOWN; SHUTDOWN with no flag or one beyond RCV|SEND;
//  - a payload on an op other than RW.
Result<GuestPacket> parse_guest_packet(std::span<const uint8_t> bytes, uint64_t guest_cid);

// Raw little-endian encode / decode, no checks: for the device's own packets (rx queue).
void encode_header(const Header& header, std::span<uint8_t, kHeaderSize> out);
std::array<uint8_t, kHeaderSize> encode_header(const Header& header);
Header decode_header(std::span<const uint8_t, kHeaderSize> bytes);

}  // namespace bulwark::vsock
