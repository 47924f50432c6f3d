// A virtio-net TX chain: the vnet header checks (devices/net/vnet_header) and, for a header
// that passes, the anti-spoofing filter on the frame behind it. Input: byte 0 = negotiated
// features (bit 0 CSUM, 1 HOST_TSO4, 2 HOST_TSO6, 3 HOST_ECN, 4 HOST_UFO), byte 1 = extra
// frame length in KiB the chain claims beyond the bytes given (a hostile chain length; the
// filter then does not run), then the 12-byte header and the frame.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "devices/net/frame_filter.h"
#include "devices/net/vnet_header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bulwark::net;
  if (size < 2) return 0;
  static constexpr unsigned kBits[] = {kNetFCsum, kNetFHostTso4, kNetFHostTso6, kNetFHostEcn,
                                       kNetFHostUfo};
  uint64_t features = feature_bit(kFVersion1);
  for (size_t i = 0; i < std::size(kBits); ++i)
    if (data[0] & (1u << i)) features |= feature_bit(kBits[i]);
  const size_t extra = size_t{data[1]} * 1024;
  const std::span<const uint8_t> chain(data + 2, size - 2);
  const std::span<const uint8_t> header = chain.first(std::min(chain.size(), kVnetHeaderSize));
  const std::span<const uint8_t> frame = chain.subspan(header.size());
  const size_t frame_len = frame.size() + extra;

  auto parsed = parse_tx_header(header, frame_len, features);
  if (!parsed.ok()) return 0;
  const VnetHeader& h = *parsed;
  // What the checks promise the device.
  if (frame_len == 0 || frame_len > kMaxFrameSize) std::abort();
  if (h.hdr_len > frame_len) std::abort();
  if ((h.flags & kVnetHdrFNeedsCsum) != 0 &&
      (!has_feature(features, kNetFCsum) || size_t{h.csum_start} + h.csum_offset + 2 > frame_len))
    std::abort();
  if ((h.flags & ~kVnetHdrFNeedsCsum) != 0) std::abort();
  if ((h.gso_type & 0x7f) != kVnetHdrGsoNone && h.gso_size == 0) std::abort();
  // Encode / decode round trip.
  std::array<uint8_t, kVnetHeaderSize> bytes{};
  write_header(h, bytes);
  if (!(read_header(bytes) == h)) std::abort();

  if (extra != 0) return 0;
  FilterPolicy policy;
  policy.mac.bytes = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
  policy.allowed_ips = {*parse_ip_prefix("10.0.0.2/32"), *parse_ip_prefix("fd00::2/128")};
  const DropReason reason = check_guest_frame(policy, frame);
  if (reason == DropReason::kNone &&
      (frame.size() < kEthHeaderSize ||
       !std::equal(policy.mac.bytes.begin(), policy.mac.bytes.end(), frame.begin() + 6)))
    std::abort();
  return 0;
}
