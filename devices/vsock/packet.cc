#include "devices/vsock/packet.h"

#include <string>

namespace bulwark::vsock {
namespace {

template <typename T>
T get_le(std::span<const uint8_t> b, size_t at) {
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v = static_cast<T>(v | (T{b[at + i]} << (8 * i)));
  return v;
}
template <typename T>
void put_le(std::span<uint8_t> b, size_t at, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

Error refuse_packet(const std::string& why) { return Error("vsock packet: " + why); }

}  // namespace

const char* op_name(Op op) {
  switch (op) {
    case Op::kRequest: return "REQUEST";
    case Op::kResponse: return "RESPONSE";
    case Op::kRst: return "RST";
    case Op::kShutdown: return "SHUTDOWN";
    case Op::kRw: return "RW";
    case Op::kCreditUpdate: return "CREDIT_UPDATE";
    case Op::kCreditRequest: return "CREDIT_REQUEST";
  }
  return "unknown op";
}

Header decode_header(std::span<const uint8_t, kHeaderSize> bytes) {
  Header h;
  h.src_cid = get_le<uint64_t>(bytes, 0);
  h.dst_cid = get_le<uint64_t>(bytes, 8);
  h.src_port = get_le<uint32_t>(bytes, 16);
  h.dst_port = get_le<uint32_t>(bytes, 20);
  h.len = get_le<uint32_t>(bytes, 24);
  h.type = get_le<uint16_t>(bytes, 28);
  h.op = static_cast<Op>(get_le<uint16_t>(bytes, 30));
  h.flags = get_le<uint32_t>(bytes, 32);
  h.buf_alloc = get_le<uint32_t>(bytes, 36);
  h.fwd_cnt = get_le<uint32_t>(bytes, 40);
  return h;
}

void encode_header(const Header& h, std::span<uint8_t, kHeaderSize> out) {
  put_le<uint64_t>(out, 0, h.src_cid);
  put_le<uint64_t>(out, 8, h.dst_cid);
  put_le<uint32_t>(out, 16, h.src_port);
  put_le<uint32_t>(out, 20, h.dst_port);
  put_le<uint32_t>(out, 24, h.len);
  put_le<uint16_t>(out, 28, h.type);
  put_le<uint16_t>(out, 30, static_cast<uint16_t>(h.op));
  put_le<uint32_t>(out, 32, h.flags);
  put_le<uint32_t>(out, 36, h.buf_alloc);
  put_le<uint32_t>(out, 40, h.fwd_cnt);
}

std::array<uint8_t, kHeaderSize> encode_header(const Header& header) {
  std::array<uint8_t, kHeaderSize> out{};
  encode_header(header, out);
  return out;
}

Result<GuestPacket> parse_guest_packet(std::span<const uint8_t> bytes, uint64_t guest_cid) {
  if (bytes.size() < kHeaderSize)
    return refuse_packet(std::to_string(bytes.size()) + " bytes, shorter than the " +
                  std::to_string(kHeaderSize) + "-byte header");
  const Header h = decode_header(bytes.first<kHeaderSize>());
  const size_t present = bytes.size() - kHeaderSize;
  if (h.len > kMaxPayload)
    return refuse_packet("len " + std::to_string(h.len) + " exceeds the " +
                  std::to_string(kMaxPayload) + "-byte cap");
  if (h.len != present)
    return refuse_packet("len " + std::to_string(h.len) + " but " + std::to_string(present) +
                  " payload bytes present");
  if (h.type != kTypeStream)
    return refuse_packet("type " + std::to_string(h.type) + " is not STREAM");
  const auto op = static_cast<uint16_t>(h.op);
  if (op < static_cast<uint16_t>(Op::kRequest) || op > static_cast<uint16_t>(Op::kCreditRequest))
    return refuse_packet("unknown op " + std::to_string(op));
  if (h.src_cid != guest_cid)
    return refuse_packet("src_cid " + std::to_string(h.src_cid) + " is not the guest's CID " +
                  std::to_string(guest_cid));
  if (h.dst_cid != kHostCid)
    return refuse_packet("dst_cid " + std::to_string(h.dst_cid) + " is not the host (2)");
  if (h.op == Op::kShutdown) {
    if (h.flags == 0 || (h.flags & ~kShutdownBoth) != 0)
      return refuse_packet("SHUTDOWN flags " + std::to_string(h.flags) + " (want RCV and/or SEND)");
  } else if (h.flags != 0) {
    return refuse_packet("flags " + std::to_string(h.flags) + " on " + op_name(h.op));
  }
  if (h.len != 0 && h.op != Op::kRw)
    return refuse_packet(std::string("payload of ") + std::to_string(h.len) + " bytes on " +
                  op_name(h.op));
  return GuestPacket{h, bytes.subspan(kHeaderSize)};
}

}  // namespace bulwark::vsock
