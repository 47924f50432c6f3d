#include "devices/net/vnet_header.h"

#include <string>

namespace bulwark::net {
namespace {

uint16_t le16(std::span<const uint8_t> b, size_t at) {
  return static_cast<uint16_t>(b[at] | (b[at + 1] << 8));
}
void put_le16(std::span<uint8_t> b, size_t at, uint16_t v) {
  b[at] = static_cast<uint8_t>(v & 0xff);
  b[at + 1] = static_cast<uint8_t>(v >> 8);
}

Error refuse_header(const std::string& why) { return Error("vnet header: " + why); }

}  // namespace

VnetHeader read_header(std::span<const uint8_t, kVnetHeaderSize> bytes) {
  VnetHeader h;
  h.flags = bytes[0];
  h.gso_type = bytes[1];
  h.hdr_len = le16(bytes, 2);
  h.gso_size = le16(bytes, 4);
  h.csum_start = le16(bytes, 6);
  h.csum_offset = le16(bytes, 8);
  h.num_buffers = le16(bytes, 10);
  return h;
}

void write_header(const VnetHeader& header, std::span<uint8_t, kVnetHeaderSize> out) {
  out[0] = header.flags;
  out[1] = header.gso_type;
  put_le16(out, 2, header.hdr_len);
  put_le16(out, 4, header.gso_size);
  put_le16(out, 6, header.csum_start);
  put_le16(out, 8, header.csum_offset);
  put_le16(out, 10, header.num_buffers);
}

Result<VnetHeader> parse_tx_header(std::span<const uint8_t> header_bytes, size_t frame_len,
                                   uint64_t negotiated_features) {
  if (header_bytes.size() < kVnetHeaderSize)
    return refuse_header("only " + std::to_string(header_bytes.size()) + " of " +
                  std::to_string(kVnetHeaderSize) + " bytes");
  if (frame_len == 0) return refuse_header("no frame after the header");
  if (frame_len > kMaxFrameSize)
    return refuse_header("frame of " + std::to_string(frame_len) + " bytes exceeds " +
                  std::to_string(kMaxFrameSize));
  const VnetHeader h = read_header(header_bytes.first<kVnetHeaderSize>());

  if ((h.flags & ~kVnetHdrFNeedsCsum) != 0)
    return refuse_header("flags " + std::to_string(h.flags) + " (only NEEDS_CSUM is valid on TX)");
  const bool needs_csum = (h.flags & kVnetHdrFNeedsCsum) != 0;
  if (needs_csum) {
    if (!has_feature(negotiated_features, kNetFCsum))
      return refuse_header("NEEDS_CSUM without VIRTIO_NET_F_CSUM");
    // csum_start + csum_offset + 2 (the 16-bit checksum field) within the frame; all in
    // size_t from 16-bit values, so no overflow.
    const size_t end = size_t{h.csum_start} + size_t{h.csum_offset} + 2;
    if (end > frame_len)
      return refuse_header("checksum field at " + std::to_string(h.csum_start) + "+" +
                    std::to_string(h.csum_offset) + " beyond the frame of " +
                    std::to_string(frame_len) + " bytes");
  }

  const uint8_t gso = static_cast<uint8_t>(h.gso_type & ~kVnetHdrGsoEcn);
  const bool ecn = (h.gso_type & kVnetHdrGsoEcn) != 0;
  switch (gso) {
    case kVnetHdrGsoNone:
      if (ecn) return refuse_header("ECN bit without a GSO type");
      break;
    case kVnetHdrGsoTcpv4:
      if (!has_feature(negotiated_features, kNetFHostTso4))
        return refuse_header("GSO TCPV4 without VIRTIO_NET_F_HOST_TSO4");
      break;
    case kVnetHdrGsoTcpv6:
      if (!has_feature(negotiated_features, kNetFHostTso6))
        return refuse_header("GSO TCPV6 without VIRTIO_NET_F_HOST_TSO6");
      break;
    case kVnetHdrGsoUdp:
      if (!has_feature(negotiated_features, kNetFHostUfo))
        return refuse_header("GSO UDP without VIRTIO_NET_F_HOST_UFO");
      break;
    default:
      return refuse_header("unknown gso_type " + std::to_string(h.gso_type));
  }
  if (gso != kVnetHdrGsoNone) {
    if (ecn && !has_feature(negotiated_features, kNetFHostEcn))
      return refuse_header("GSO ECN without VIRTIO_NET_F_HOST_ECN");
    if (!needs_csum) return refuse_header("GSO without NEEDS_CSUM");
    if (h.gso_size == 0) return refuse_header("GSO with gso_size 0");
  }
  if (h.hdr_len > frame_len)
    return refuse_header("hdr_len " + std::to_string(h.hdr_len) + " beyond the frame of " +
                  std::to_string(frame_len) + " bytes");
  return h;
}

}  // namespace bulwark::net
