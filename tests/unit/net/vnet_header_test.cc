// The TX vnet header checks from an attacker's point of view: each row a header a guest might
// write, the frame length behind it, the features negotiated, and whether it must pass.
#include "devices/net/vnet_header.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

namespace bulwark::net {
namespace {

constexpr uint64_t kAllHost = feature_bit(kNetFCsum) | feature_bit(kNetFHostTso4) |
                              feature_bit(kNetFHostTso6) | feature_bit(kNetFHostEcn) |
                              feature_bit(kNetFHostUfo) | feature_bit(kFVersion1);
constexpr uint64_t kCsumOnly = feature_bit(kNetFCsum) | feature_bit(kFVersion1);

std::array<uint8_t, kVnetHeaderSize> encode(const VnetHeader& h) {
  std::array<uint8_t, kVnetHeaderSize> b{};
  write_header(h, b);
  return b;
}

VnetHeader csum(uint16_t start, uint16_t offset) {
  VnetHeader h;
  h.flags = kVnetHdrFNeedsCsum;
  h.csum_start = start;
  h.csum_offset = offset;
  return h;
}
VnetHeader gso(uint8_t type, uint16_t size, uint16_t hdr_len = 54) {
  VnetHeader h = csum(34, 16);
  h.gso_type = type;
  h.gso_size = size;
  h.hdr_len = hdr_len;
  return h;
}

struct Case {
  std::string name;
  VnetHeader header;
  size_t frame_len;
  uint64_t features;
  bool ok;
  std::string error_part;  // a part of the error message, when refused
};

TEST(VnetHeaderTest, TxHeaders) {
  const Case cases[] = {
      {"plain", VnetHeader{}, 60, 0, true, ""},
      {"plain_max_frame", VnetHeader{}, kMaxFrameSize, 0, true, ""},
      {"frame_one_over_max", VnetHeader{}, kMaxFrameSize + 1, kAllHost, false, "exceeds"},
      {"frame_empty", VnetHeader{}, 0, kAllHost, false, "no frame"},
      {"csum_ok", csum(34, 16), 60, kCsumOnly, true, ""},
      {"csum_field_ends_at_frame_end", csum(34, 24), 60, kCsumOnly, true, ""},
      {"csum_offset_one_past_end", csum(34, 25), 60, kCsumOnly, false, "beyond the frame"},
      {"csum_offset_far_past_end", csum(0xffff, 0xffff), 60, kCsumOnly, false, "beyond the frame"},
      {"csum_start_past_end", csum(60, 0), 60, kCsumOnly, false, "beyond the frame"},
      {"csum_without_feature", csum(34, 16), 60, 0, false, "without VIRTIO_NET_F_CSUM"},
      {"data_valid_from_guest", [] { VnetHeader h; h.flags = kVnetHdrFDataValid; return h; }(), 60, kAllHost, false, "flags"},
      {"unknown_flag", [] { VnetHeader h; h.flags = 0x80; return h; }(), 60, kAllHost, false, "flags"},
      {"tso4", gso(kVnetHdrGsoTcpv4, 1448), 9000, kAllHost, true, ""},
      {"tso4_not_negotiated", gso(kVnetHdrGsoTcpv4, 1448), 9000, kAllHost & ~feature_bit(kNetFHostTso4), false, "HOST_TSO4"},
      {"tso6_not_negotiated", gso(kVnetHdrGsoTcpv6, 1448), 9000, kCsumOnly, false, "HOST_TSO6"},
      {"tso6", gso(kVnetHdrGsoTcpv6, 1428, 74), 9000, kAllHost, true, ""},
      {"ufo_not_negotiated", gso(kVnetHdrGsoUdp, 1472), 9000, kCsumOnly, false, "HOST_UFO"},
      {"ufo", gso(kVnetHdrGsoUdp, 1472), 9000, kAllHost, true, ""},
      {"ecn", gso(kVnetHdrGsoTcpv4 | kVnetHdrGsoEcn, 1448), 9000, kAllHost, true, ""},
      {"ecn_not_negotiated", gso(kVnetHdrGsoTcpv4 | kVnetHdrGsoEcn, 1448), 9000,
       kAllHost & ~feature_bit(kNetFHostEcn), false, "HOST_ECN"},
      {"ecn_without_gso", [] { VnetHeader h; h.gso_type = kVnetHdrGsoEcn; return h; }(), 60, kAllHost, false, "ECN"},
      {"uso_unknown", gso(kVnetHdrGsoUdpL4, 1472), 9000, kAllHost, false, "gso_type"},
      {"gso_type_2_unknown", gso(2, 1448), 9000, kAllHost, false, "gso_type"},
      {"gso_size_zero", gso(kVnetHdrGsoTcpv4, 0), 9000, kAllHost, false, "gso_size 0"},
      {"gso_without_needs_csum", [] { VnetHeader h = gso(kVnetHdrGsoTcpv4, 1448); h.flags = 0; return h; }(), 9000,
       kAllHost, false, "NEEDS_CSUM"},
      {"hdr_len_past_frame", gso(kVnetHdrGsoTcpv4, 1448, 61), 60, kAllHost, false, "hdr_len"},
      {"hdr_len_equals_frame", gso(kVnetHdrGsoTcpv4, 1448, 60), 60, kAllHost, true, ""},
      {"num_buffers_ignored_on_tx", [] { VnetHeader h; h.num_buffers = 7; return h; }(), 60, 0, true, ""},
  };
  for (const Case& c : cases) {
    const auto bytes = encode(c.header);
    auto r = parse_tx_header(bytes, c.frame_len, c.features);
    ASSERT_EQ(r.ok(), c.ok) << c.name << (r.ok() ? "" : ": " + r.error().message());
    if (r.ok()) {
      EXPECT_EQ(*r, c.header) << c.name;
    } else {
      EXPECT_NE(r.error().message().find(c.error_part), std::string::npos)
          << c.name << ": " << r.error().message();
    }
  }
}

TEST(VnetHeaderTest, ShortHeaderRefused) {
  const auto full = encode(VnetHeader{});
  for (size_t n = 0; n < kVnetHeaderSize; ++n) {
    auto r = parse_tx_header(std::span<const uint8_t>(full.data(), n), 60, kAllHost);
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_NE(r.error().message().find("bytes"), std::string::npos);
  }
  // Longer input: only the first 12 bytes are the header.
  std::vector<uint8_t> longer(full.begin(), full.end());
  longer.push_back(0xff);
  EXPECT_TRUE(parse_tx_header(longer, 60, 0).ok());
}

TEST(VnetHeaderTest, LittleEndianLayout) {
  VnetHeader h;
  h.flags = 1;
  h.gso_type = 4;
  h.hdr_len = 0x0102;
  h.gso_size = 0x0304;
  h.csum_start = 0x0506;
  h.csum_offset = 0x0708;
  h.num_buffers = 0x090a;
  const std::array<uint8_t, kVnetHeaderSize> want = {1, 4, 2, 1, 4, 3, 6, 5, 8, 7, 0x0a, 9};
  EXPECT_EQ(encode(h), want);
  EXPECT_EQ(read_header(want), h);
}

TEST(VnetHeaderTest, FeatureBits) {
  EXPECT_EQ(kNetFMrgRxbuf, 15u);
  EXPECT_EQ(kNetFCtrlMacAddr, 23u);
  EXPECT_TRUE(has_feature(feature_bit(kFVersion1), kFVersion1));
  EXPECT_FALSE(has_feature(~uint64_t{0}, 64));
}

}  // namespace
}  // namespace bulwark::net
