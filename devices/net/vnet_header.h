// The virtio-net header in front of every frame on a virtqueue (virtio 1.x 5.1.6,
// struct virtio_net_hdr_v1: VERSION_1 only, so always 12 bytes with num_buffers,
// little-endian), the feature bits, and the checks a TX header from the guest must pass
// before the device hands it (with the frame) to the TAP. Pure: no syscalls.
//
// Layout: flags(1) gso_type(1) hdr_len(2) gso_size(2) csum_start(2) csum_offset(2)
// num_buffers(2). The same layout is what the TAP speaks with IFF_VNET_HDR and
// TUNSETVNETHDRSZ 12 (little-endian with TUNSETVNETLE or on a little-endian host).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "bulwark/common/result.h"

namespace bulwark::net {

inline constexpr size_t kVnetHeaderSize = 12;

// Largest frame (bytes after the vnet header) the device accepts from a guest or hands to
// it: 64 KiB of GSO payload (an IP packet's 16-bit total length allows at most 65535 bytes)
// plus a 14-byte Ethernet header plus one 4-byte VLAN tag: 65535 + 14 + 4 = 65553, rounded
// down to the figure QEMU and Linux's tun use for the largest GSO frame, 65550 (65536 + 14).
// A TX chain whose frame is longer is refused.
inline constexpr size_t kMaxFrameSize = 65550;

// Feature bit numbers (virtio 1.x 5.1.3).
inline constexpr unsigned kNetFCsum = 0;
inline constexpr unsigned kNetFGuestCsum = 1;
inline constexpr unsigned kNetFCtrlGuestOffloads = 2;
inline constexpr unsigned kNetFMtu = 3;
inline constexpr unsigned kNetFMac = 5;
inline constexpr unsigned kNetFGuestTso4 = 7;
inline constexpr unsigned kNetFGuestTso6 = 8;
inline constexpr unsigned kNetFGuestEcn = 9;
inline constexpr unsigned kNetFGuestUfo = 10;
inline constexpr unsigned kNetFHostTso4 = 11;
inline constexpr unsigned kNetFHostTso6 = 12;
inline constexpr unsigned kNetFHostEcn = 13;
inline constexpr unsigned kNetFHostUfo = 14;
inline constexpr unsigned kNetFMrgRxbuf = 15;
inline constexpr unsigned kNetFStatus = 16;
inline constexpr unsigned kNetFCtrlVq = 17;
inline constexpr unsigned kNetFCtrlRx = 18;
inline constexpr unsigned kNetFCtrlVlan = 19;
inline constexpr unsigned kNetFCtrlRxExtra = 20;  // RX modes ALLUNI, NOMULTI, NOUNI, NOBCAST
inline constexpr unsigned kNetFGuestAnnounce = 21;
inline constexpr unsigned kNetFMq = 22;
inline constexpr unsigned kNetFCtrlMacAddr = 23;
inline constexpr unsigned kFVersion1 = 32;  // VIRTIO_F_VERSION_1 (transport bit)

constexpr uint64_t feature_bit(unsigned bit) { return uint64_t{1} << bit; }
constexpr bool has_feature(uint64_t features, unsigned bit) {
  return bit < 64 && (features & feature_bit(bit)) != 0;
}

// flags
inline constexpr uint8_t kVnetHdrFNeedsCsum = 1;
inline constexpr uint8_t kVnetHdrFDataValid = 2;
inline constexpr uint8_t kVnetHdrFRscInfo = 4;
// gso_type
inline constexpr uint8_t kVnetHdrGsoNone = 0;
inline constexpr uint8_t kVnetHdrGsoTcpv4 = 1;
inline constexpr uint8_t kVnetHdrGsoUdp = 3;
inline constexpr uint8_t kVnetHdrGsoTcpv6 = 4;
inline constexpr uint8_t kVnetHdrGsoUdpL4 = 5;
inline constexpr uint8_t kVnetHdrGsoEcn = 0x80;

struct VnetHeader {
  uint8_t flags = 0, gso_type = 0;
  uint16_t hdr_len = 0, gso_size = 0, csum_start = 0, csum_offset = 0, num_buffers = 0;

  bool operator==(const VnetHeader&) const = default;
};

// Checks the header of a TX chain: header_bytes is the first kVnetHeaderSize (or more; only
// the first 12 are read) bytes of the chain, frame_len the number of frame bytes after it.
// Refused (Error), with what and why in the message:
//  - fewer than kVnetHeaderSize header bytes; frame_len 0 or > kMaxFrameSize;
//  - flags other than NEEDS_CSUM (DATA_VALID and RSC_INFO are device-to-driver only);
//  - NEEDS_CSUM without VIRTIO_NET_F_CSUM; csum_start + csum_offset + 2 > frame_len;
//  - a gso_type other than NONE / TCPV4 / UDP / TCPV6 (+ ECN bit); TCPV4 without HOST_TSO4,
//    TCPV6 without HOST_TSO6, UDP without HOST_UFO, the ECN bit without HOST_ECN, or the ECN
//    bit on NONE; GSO without NEEDS_CSUM (Linux's tun refuses that too); gso_size 0 with GSO;
//  - hdr_len > frame_len.
// num_buffers is ignored on TX (the spec says the driver sets it to 0; it is not checked).
Result<VnetHeader> parse_tx_header(std::span<const uint8_t> header_bytes, size_t frame_len,
                                   uint64_t negotiated_features);

// Little-endian encode / decode of the 12 bytes; no checks (RX headers are ours, and the
// TAP's are checked by the kernel).
void write_header(const VnetHeader& header, std::span<uint8_t, kVnetHeaderSize> out);
VnetHeader read_header(std::span<const uint8_t, kVnetHeaderSize> bytes);

}  // namespace bulwark::net
