// The anti-spoofing filter from an attacker's point of view: what a guest may send (TX) and
// what may reach it (RX). Table-driven: each row a frame and the verdict it must get.
#include "devices/net/frame_filter.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/unit/net/frame_builders.h"

namespace bulwark::net {
namespace {

using namespace testing;

const MacAddress kNic = mac({0x52, 0x54, 0x00, 0x12, 0x34, 0x56});
const MacAddress kOther = mac({0x52, 0x54, 0x00, 0x66, 0x66, 0x66});
const MacAddress kBroadcast = mac({0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
const MacAddress kGateway = mac({0x02, 0, 0, 0, 0, 1});
const MacAddress kZeroMac{};
constexpr std::array<uint8_t, 4> kGuestV4 = {10, 0, 0, 2};
constexpr std::array<uint8_t, 4> kForeignV4 = {10, 0, 0, 3};
constexpr std::array<uint8_t, 4> kGatewayV4 = {10, 0, 0, 1};
constexpr std::array<uint8_t, 4> kAnyV4 = {0, 0, 0, 0};
constexpr std::array<uint8_t, 4> kBcastV4 = {255, 255, 255, 255};
const V6 kGuestV6 = v6({0xfd, 0}, {2});
const V6 kForeignV6 = v6({0xfd, 0}, {3});
const V6 kLinkLocal = v6({0xfe, 0x80}, {0x50, 0x54, 0x00, 0xff, 0xfe, 0x12, 0x34, 0x56});
const V6 kUnspecified{};
const V6 kSolicitedNode = v6({0xff, 0x02}, {0x01, 0xff, 0, 0, 2});
const V6 kAllNodes = v6({0xff, 0x02}, {1});
const V6 kAllRouters = v6({0xff, 0x02}, {2});
const V6 kMldv2 = v6({0xff, 0x02}, {0x16});

FilterPolicy policy_with_ips(bool allow_vlan = false) {
  FilterPolicy p;
  p.mac = kNic;
  p.allowed_ips = {*parse_ip_prefix("10.0.0.2/32"), *parse_ip_prefix("fd00::2/128")};
  p.allow_vlan = allow_vlan;
  return p;
}
FilterPolicy mac_only() {
  FilterPolicy p;
  p.mac = kNic;
  return p;
}

Bytes v4_frame(std::array<uint8_t, 4> src, const Bytes& l4, uint8_t proto = 17) {
  return cat(eth(kGateway, kNic, kEthTypeIpv4), ipv4(src, kGatewayV4, proto, l4));
}
Bytes v6_frame(const V6& src, const V6& dst, uint8_t next, const Bytes& payload,
               const MacAddress& from = kNic) {
  return cat(eth(kBroadcast, from, kEthTypeIpv6), ipv6(src, dst, next, payload));
}
Bytes arp_frame(uint16_t op, const MacAddress& sha, std::array<uint8_t, 4> spa,
                const MacAddress& eth_src = kNic) {
  return cat(eth(kBroadcast, eth_src, kEthTypeArp), arp(op, sha, spa, kZeroMac, kGatewayV4));
}
Bytes vlan_frame(uint16_t tpid, uint16_t inner, const Bytes& payload) {
  Bytes b = eth(kGateway, kNic, tpid);
  put16(b, 100);  // TCI: VLAN 100
  put16(b, inner);
  return cat(b, payload);
}

struct GuestCase {
  std::string name;
  FilterPolicy policy;
  Bytes frame;
  DropReason want;
};

std::vector<GuestCase> guest_cases() {
  const FilterPolicy ips = policy_with_ips();
  const FilterPolicy macs = mac_only();
  const Bytes honest_udp = v4_frame(kGuestV4, udp(5000, 53));
  Bytes short_frame = honest_udp;
  short_frame.resize(kEthHeaderSize - 1);
  // DHCP discover: 0.0.0.0:68 -> 255.255.255.255:67.
  const Bytes dhcp = cat(eth(kBroadcast, kNic, kEthTypeIpv4), ipv4(kAnyV4, kBcastV4, 17, udp(68, 67, 240)));
  const Bytes dad_ns = v6_frame(kUnspecified, kSolicitedNode, 58, icmpv6(135, ns_or_na_body(kGuestV6)));
  const Bytes ll_v6 = v6_frame(kLinkLocal, kAllRouters, 58, cat(icmpv6(133, {0, 0, 0, 0}), ll_option(1, kNic)));
  const Bytes honest_na = v6_frame(kGuestV6, kAllNodes, 58,
                                   cat(icmpv6(136, ns_or_na_body(kGuestV6, 0x20)), ll_option(2, kNic)));
  Bytes ihl_too_big = v4_frame(kGuestV4, udp(1, 2));
  ihl_too_big[kEthHeaderSize] = 0x4f;  // IHL 15 = 60 bytes, but 36 bytes follow
  Bytes v6_bad_len = v6_frame(kGuestV6, kAllNodes, 17, udp(1, 2));
  v6_bad_len[kEthHeaderSize + 5] += 1;  // payload length one past the frame
  Bytes padded_ns = dad_ns;
  padded_ns.resize(padded_ns.size() + 6, 0);  // Ethernet padding after the IPv6 payload
  // A fragment header (offset 0) in front of an NA.
  Bytes frag_hdr = {58, 0, 0, 0, 0, 0, 0, 1};
  const Bytes fragmented_na =
      v6_frame(kGuestV6, kAllNodes, 44, cat(frag_hdr, icmpv6(136, ns_or_na_body(kGuestV6))));
  // A hop-by-hop header in front of an NA for a foreign target: the walk must find it.
  const Bytes hbh_na = v6_frame(kGuestV6, kAllNodes, 0,
                                cat(Bytes{58, 0, 1, 4, 0, 0, 0, 0}, icmpv6(136, ns_or_na_body(kForeignV6))));
  // Nine hop-by-hop headers.
  Bytes nine;
  for (int i = 0; i < 9; ++i) append(nine, {static_cast<uint8_t>(i == 8 ? 17 : 0), 0, 1, 4, 0, 0, 0, 0});
  const Bytes too_many_ext = v6_frame(kGuestV6, kAllNodes, 0, cat(nine, udp(1, 2)));
  // A later fragment (offset 8) of a datagram from an allowed source: passes.
  const Bytes later_frag = v6_frame(kGuestV6, kAllNodes, 44, cat(Bytes{58, 0, 0, 8, 0, 0, 0, 1}, Bytes(16, 0)));
  const Bytes zero_len_option = v6_frame(kGuestV6, kAllNodes, 58,
                                         cat(icmpv6(136, ns_or_na_body(kGuestV6)), Bytes{2, 0, 0, 0, 0, 0, 0, 0}));

  return {
      // Ethernet and MAC.
      {"honest_udp", ips, honest_udp, DropReason::kNone},
      {"one_byte_too_short", ips, short_frame, DropReason::kTooShort},
      {"empty", ips, {}, DropReason::kTooShort},
      {"spoofed_source_mac", ips, cat(eth(kGateway, kOther, kEthTypeIpv4), ipv4(kGuestV4, kGatewayV4, 17, udp(1, 2))),
       DropReason::kSourceMac},
      {"spoofed_source_mac_mac_only", macs, cat(eth(kGateway, kOther, 0x88b5), Bytes(46, 0)), DropReason::kSourceMac},
      {"any_ethertype_mac_only", macs, cat(eth(kGateway, kNic, 0x88b5), Bytes(46, 0)), DropReason::kNone},
      {"foreign_ip_mac_only", macs, v4_frame(kForeignV4, udp(1, 2)), DropReason::kNone},
      {"header_only_mac_only", macs, eth(kGateway, kNic, kEthTypeIpv4), DropReason::kNone},
      // VLAN.
      {"vlan_8100_dropped", ips, vlan_frame(kEthTypeVlan, kEthTypeIpv4, ipv4(kGuestV4, kGatewayV4, 17, udp(1, 2))),
       DropReason::kVlan},
      {"vlan_88a8_dropped", macs, vlan_frame(kEthTypeQinQ, kEthTypeIpv4, {}), DropReason::kVlan},
      {"vlan_allowed_inner_checked", policy_with_ips(true),
       vlan_frame(kEthTypeVlan, kEthTypeIpv4, ipv4(kForeignV4, kGatewayV4, 17, udp(1, 2))), DropReason::kIpv4Source},
      {"vlan_allowed_honest", policy_with_ips(true),
       vlan_frame(kEthTypeVlan, kEthTypeIpv4, ipv4(kGuestV4, kGatewayV4, 17, udp(1, 2))), DropReason::kNone},
      {"vlan_allowed_tag_truncated", policy_with_ips(true), Bytes(eth(kGateway, kNic, kEthTypeVlan)),
       DropReason::kTooShort},
      {"vlan_three_tags", policy_with_ips(true),
       cat(eth(kGateway, kNic, kEthTypeQinQ), Bytes{0, 1, 0x81, 0, 0, 2, 0x81, 0, 0, 3, 0x08, 0}),
       DropReason::kMalformed},
      // Other ethertypes with allowed_ips.
      {"lldp_with_ips", ips, cat(eth(kGateway, kNic, 0x88cc), Bytes(46, 0)), DropReason::kMalformed},
      {"802_3_length_with_ips", ips, cat(eth(kGateway, kNic, 46), Bytes(46, 0)), DropReason::kMalformed},
      // ARP.
      {"honest_arp_request", ips, arp_frame(1, kNic, kGuestV4), DropReason::kNone},
      {"arp_probe_from_zero", ips, arp_frame(1, kNic, kAnyV4), DropReason::kNone},
      {"forged_arp_reply_foreign_ip", ips, arp_frame(2, kNic, kGatewayV4), DropReason::kArpSpoof},
      {"forged_arp_reply_foreign_sha", ips, arp_frame(2, kOther, kGuestV4), DropReason::kArpSpoof},
      {"arp_truncated", ips, cat(eth(kBroadcast, kNic, kEthTypeArp), Bytes(27, 0)), DropReason::kMalformed},
      {"arp_not_ethernet_ipv4", ips,
       [] { Bytes f = arp_frame(1, kNic, kGuestV4); f[kEthHeaderSize + 5] = 16; return f; }(),
       DropReason::kMalformed},
      // IPv4.
      {"foreign_ipv4_source", ips, v4_frame(kForeignV4, udp(5000, 53)), DropReason::kIpv4Source},
      {"dhcp_discover_passes", ips, dhcp, DropReason::kNone},
      {"zero_source_not_dhcp_port", ips, v4_frame(kAnyV4, udp(68, 53)), DropReason::kIpv4Source},
      // The DHCP exception is for 0.0.0.0 only: a foreign source on DHCP's ports is spoofing.
      {"foreign_source_on_dhcp_ports", ips, v4_frame(kForeignV4, udp(68, 67, 240)), DropReason::kIpv4Source},
      {"zero_source_tcp_68_67", ips, v4_frame(kAnyV4, udp(68, 67), 6), DropReason::kIpv4Source},
      {"zero_source_fragment", ips,
       cat(eth(kBroadcast, kNic, kEthTypeIpv4), ipv4(kAnyV4, kBcastV4, 17, udp(68, 67), 0x0001)),
       DropReason::kIpv4Source},
      {"zero_source_udp_truncated", ips,
       cat(eth(kBroadcast, kNic, kEthTypeIpv4), ipv4(kAnyV4, kBcastV4, 17, Bytes{0, 68, 0})), DropReason::kIpv4Source},
      {"ipv4_header_truncated", ips, cat(eth(kGateway, kNic, kEthTypeIpv4), Bytes{0x45, 0, 0, 20}),
       DropReason::kMalformed},
      {"ipv4_ihl_past_frame", ips, ihl_too_big, DropReason::kMalformed},
      {"ipv4_version_6_in_v4_type", ips,
       [] { Bytes f = v4_frame(kGuestV4, udp(1, 2)); f[kEthHeaderSize] = 0x65; return f; }(),
       DropReason::kMalformed},
      {"ipv4_in_prefix", [] { FilterPolicy p = mac_only(); p.allowed_ips = {*parse_ip_prefix("10.0.0.0/24")}; return p; }(),
       v4_frame(kForeignV4, udp(1, 2)), DropReason::kNone},
      // IPv6.
      {"honest_ipv6_udp", ips, v6_frame(kGuestV6, kAllNodes, 17, udp(1, 2)), DropReason::kNone},
      {"foreign_ipv6_source", ips, v6_frame(kForeignV6, kAllNodes, 17, udp(1, 2)), DropReason::kIpv6Source},
      {"ipv4_only_policy_refuses_v6", [] { FilterPolicy p = mac_only(); p.allowed_ips = {*parse_ip_prefix("10.0.0.2")}; return p; }(),
       v6_frame(kGuestV6, kAllNodes, 17, udp(1, 2)), DropReason::kIpv6Source},
      {"dad_ns_from_unspecified", ips, dad_ns, DropReason::kNone},
      {"dad_ns_with_padding", ips, padded_ns, DropReason::kNone},
      {"mldv2_report_from_unspecified", ips, v6_frame(kUnspecified, kMldv2, 58, icmpv6(143, {0, 0, 0, 0})), DropReason::kNone},
      {"udp_from_unspecified", ips, v6_frame(kUnspecified, kAllNodes, 17, udp(1, 2)), DropReason::kIpv6Source},
      {"echo_from_unspecified", ips, v6_frame(kUnspecified, kAllNodes, 58, icmpv6(128, {0, 0, 0, 0})), DropReason::kIpv6Source},
      {"dad_ns_for_foreign_address", ips,
       v6_frame(kUnspecified, kSolicitedNode, 58, icmpv6(135, ns_or_na_body(kForeignV6))), DropReason::kNdpSpoof},
      {"dad_ns_for_unlisted_link_local", ips,
       v6_frame(kUnspecified, kSolicitedNode, 58, icmpv6(135, ns_or_na_body(kLinkLocal))), DropReason::kNdpSpoof},
      {"ns_from_guest_for_foreign_target", ips,
       v6_frame(kGuestV6, kSolicitedNode, 58, cat(icmpv6(135, ns_or_na_body(kForeignV6)), ll_option(1, kNic))),
       DropReason::kNone},
      {"dad_ns_with_source_ll_option", ips,
       v6_frame(kUnspecified, kSolicitedNode, 58, cat(icmpv6(135, ns_or_na_body(kGuestV6)), ll_option(1, kNic))),
       DropReason::kNdpSpoof},
      {"link_local_not_listed", ips, ll_v6, DropReason::kIpv6Source},
      {"link_local_listed", [] { FilterPolicy p = policy_with_ips(); p.allowed_ips.push_back(*parse_ip_prefix("fe80::/10")); return p; }(),
       ll_v6, DropReason::kNone},
      {"honest_na", ips, honest_na, DropReason::kNone},
      {"na_foreign_target", ips,
       v6_frame(kGuestV6, kAllNodes, 58, cat(icmpv6(136, ns_or_na_body(kForeignV6, 0x20)), ll_option(2, kNic))),
       DropReason::kNdpSpoof},
      {"na_foreign_target_ll", ips,
       v6_frame(kGuestV6, kAllNodes, 58, cat(icmpv6(136, ns_or_na_body(kGuestV6, 0x20)), ll_option(2, kOther))),
       DropReason::kNdpSpoof},
      {"ns_foreign_source_ll", ips,
       v6_frame(kGuestV6, kSolicitedNode, 58, cat(icmpv6(135, ns_or_na_body(kForeignV6)), ll_option(1, kOther))),
       DropReason::kNdpSpoof},
      {"ra_foreign_source_ll", ips,
       v6_frame(kGuestV6, kAllNodes, 58, cat(icmpv6(134, Bytes(12, 0)), ll_option(1, kOther))), DropReason::kNdpSpoof},
      {"redirect_passes", ips, v6_frame(kGuestV6, kAllNodes, 58, icmpv6(137, Bytes(36, 0))), DropReason::kNone},
      {"redirect_truncated", ips, v6_frame(kGuestV6, kAllNodes, 58, icmpv6(137, Bytes(35, 0))), DropReason::kMalformed},
      {"na_truncated", ips, v6_frame(kGuestV6, kAllNodes, 58, icmpv6(136, Bytes(8, 0))), DropReason::kMalformed},
      {"na_option_length_zero", ips, zero_len_option, DropReason::kMalformed},
      {"na_option_past_end", ips,
       v6_frame(kGuestV6, kAllNodes, 58, cat(icmpv6(136, ns_or_na_body(kGuestV6)), Bytes{2, 2, 0, 0, 0, 0, 0, 0})),
       DropReason::kMalformed},
      {"na_ll_option_16_bytes", ips,
       v6_frame(kGuestV6, kAllNodes, 58, cat(icmpv6(136, ns_or_na_body(kGuestV6)), Bytes{2, 2, 0x52, 0x54, 0, 0x12, 0x34, 0x56, 0, 0, 0, 0, 0, 0, 0, 0})),
       DropReason::kMalformed},
      {"na_fragmented", ips, fragmented_na, DropReason::kNdpSpoof},
      {"na_behind_hop_by_hop", ips, hbh_na, DropReason::kNdpSpoof},
      {"nine_extension_headers", ips, too_many_ext, DropReason::kMalformed},
      {"later_fragment_allowed_source", ips, later_frag, DropReason::kNone},
      {"ipv6_payload_length_past_frame", ips, v6_bad_len, DropReason::kMalformed},
      {"ipv6_header_truncated", ips, cat(eth(kGateway, kNic, kEthTypeIpv6), Bytes(39, 0x60)), DropReason::kMalformed},
      {"ipv6_jumbo_length_zero", ips,
       [] { Bytes f = v6_frame(kGuestV6, kAllNodes, 17, udp(1, 2)); f[kEthHeaderSize + 4] = 0; f[kEthHeaderSize + 5] = 0; return f; }(),
       DropReason::kMalformed},
      {"icmpv6_type_missing", ips, v6_frame(kGuestV6, kAllNodes, 0, Bytes{58, 0, 0, 0, 0, 0, 0, 0}), DropReason::kMalformed},
  };
}

TEST(FrameFilterTest, GuestFramesGetTheirVerdict) {
  for (const GuestCase& c : guest_cases()) {
    EXPECT_EQ(drop_reason_name(check_guest_frame(c.policy, c.frame)), std::string(drop_reason_name(c.want)))
        << c.name;
  }
}

// Every truncation of every honest frame is refused or passes without reading past the end
// (ASan / the fuzzer catch reads; here: never a crash and never kNone for a cut IP header).
TEST(FrameFilterTest, TruncationsOfEveryCaseAreSafe) {
  for (const GuestCase& c : guest_cases()) {
    for (size_t len = 0; len < c.frame.size(); ++len) {
      const std::vector<uint8_t> cut(c.frame.begin(), c.frame.begin() + static_cast<std::ptrdiff_t>(len));
      const DropReason r = check_guest_frame(c.policy, cut);
      if (len < kEthHeaderSize) {
        EXPECT_EQ(r, DropReason::kTooShort) << c.name << " len " << len;
      }
    }
  }
}

TEST(FrameFilterTest, HostFramesOnlyForTheGuest) {
  const FilterPolicy p = mac_only();
  struct Case {
    const char* name;
    MacAddress dst;
    DropReason want;
  } cases[] = {
      {"to_guest", kNic, DropReason::kNone},
      {"broadcast", kBroadcast, DropReason::kNone},
      {"ipv6_multicast", mac({0x33, 0x33, 0, 0, 0, 1}), DropReason::kNone},
      {"ipv4_multicast", mac({0x01, 0x00, 0x5e, 0, 0, 0xfb}), DropReason::kNone},
      {"other_unicast", kOther, DropReason::kNotForGuest},
      {"one_bit_off", mac({0x52, 0x54, 0x00, 0x12, 0x34, 0x57}), DropReason::kNotForGuest},
  };
  for (const Case& c : cases)
    EXPECT_EQ(check_host_frame(p, eth(c.dst, kOther, kEthTypeIpv4)), c.want) << c.name;
  Bytes short_frame = eth(kNic, kOther, kEthTypeIpv4);
  short_frame.pop_back();
  EXPECT_EQ(check_host_frame(p, short_frame), DropReason::kTooShort);
}

TEST(FrameFilterTest, ParseMac) {
  auto m = parse_mac("52:54:00:12:34:56");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, kNic);
  EXPECT_EQ(m->to_string(), "52:54:00:12:34:56");
  auto upper = parse_mac("52:54:00:AB:cd:EF");
  ASSERT_TRUE(upper.ok());
  EXPECT_EQ(upper->bytes[3], 0xab);
  for (const char* bad : {"", "52:54:00:12:34", "52:54:00:12:34:56:", "52-54-00-12-34-56",
                          "52:54:00:12:34:5g", "5:254:00:12:34:56", "52:54:00:12:34:567",
                          " 2:54:00:12:34:56"}) {
    EXPECT_FALSE(parse_mac(bad).ok()) << bad;
  }
  EXPECT_TRUE(kBroadcast.is_broadcast());
  EXPECT_TRUE(kBroadcast.is_multicast());
  EXPECT_FALSE(kNic.is_multicast());
  EXPECT_TRUE(kZeroMac.is_zero());
}

TEST(FrameFilterTest, ParseIpPrefix) {
  struct Case {
    const char* text;
    bool v6;
    unsigned len;
    std::array<uint8_t, 16> addr;
  } good[] = {
      {"10.0.0.2/32", false, 32, {10, 0, 0, 2}},
      {"10.0.0.2", false, 32, {10, 0, 0, 2}},
      {"10.0.0.0/24", false, 24, {10, 0, 0, 0}},
      {"0.0.0.0/0", false, 0, {}},
      {"255.255.255.255", false, 32, {255, 255, 255, 255}},
      {"fd00::2/128", true, 128, v6({0xfd, 0}, {2})},
      {"fd00::2", true, 128, v6({0xfd, 0}, {2})},
      {"fe80::/10", true, 10, v6({0xfe, 0x80})},
      {"::", true, 128, {}},
      {"::/0", true, 0, {}},
      {"::1", true, 128, v6({}, {1})},
      {"1:2:3:4:5:6:7:8", true, 128, {0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8}},
      {"1:2:3:4:5:6:7::", true, 128, {0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 0}},
      {"::ffff:10.0.0.2", true, 128, v6({}, {0xff, 0xff, 10, 0, 0, 2})},
      {"FD00:0:0:0:0:0:0:ABCD", true, 128, v6({0xfd, 0}, {0xab, 0xcd})},
  };
  for (const Case& c : good) {
    auto p = parse_ip_prefix(c.text);
    ASSERT_TRUE(p.ok()) << c.text << ": " << p.error().message();
    EXPECT_EQ(p->v6, c.v6) << c.text;
    EXPECT_EQ(p->prefix_len, c.len) << c.text;
    EXPECT_EQ(p->addr, c.addr) << c.text;
  }
  for (const char* bad :
       {"", "/", "10.0.0.2/", "10.0.0.2/33", "10.0.0.256", "10.0.0", "10.0.0.2.1", "010.0.0.2",
        "10.0.0.2/032", "10.0.0.1/24", "a.b.c.d", "10..0.2", "fd00::2/129", "fd00:::2", "fd00::2::3",
        "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "12345::", "fe80::1%eth0", "g::", "::/-1",
        "fd00::2/12a", "1:2:3:4:5:6:7:8::", "::1.2.3.4:5", ":1::", "fe80::1/10"}) {
    EXPECT_FALSE(parse_ip_prefix(bad).ok()) << bad;
  }
}

TEST(FrameFilterTest, PrefixContains) {
  auto p24 = *parse_ip_prefix("10.0.0.0/24");
  EXPECT_TRUE(p24.contains(std::array<uint8_t, 4>{10, 0, 0, 77}));
  EXPECT_FALSE(p24.contains(std::array<uint8_t, 4>{10, 0, 1, 77}));
  auto p10 = *parse_ip_prefix("fe80::/10");
  EXPECT_TRUE(p10.contains(kLinkLocal));
  EXPECT_TRUE(p10.contains(v6({0xfe, 0xbf})));
  EXPECT_FALSE(p10.contains(v6({0xfe, 0xc0})));
  EXPECT_FALSE(p10.contains(std::array<uint8_t, 4>{0xfe, 0x80, 0, 0}));  // wrong family
  auto all = *parse_ip_prefix("0.0.0.0/0");
  EXPECT_TRUE(all.contains(std::array<uint8_t, 4>{1, 2, 3, 4}));
  EXPECT_FALSE(all.contains(kGuestV6));
}

TEST(FrameFilterTest, DropReasonNames) {
  for (uint8_t r = 0; r < static_cast<uint8_t>(DropReason::kCount); ++r)
    EXPECT_STRNE(drop_reason_name(static_cast<DropReason>(r)), "unknown") << int(r);
  EXPECT_STREQ(drop_reason_name(DropReason::kCount), "unknown");
  EXPECT_STREQ(drop_reason_name(DropReason::kArpSpoof), "arp_spoof");
}

}  // namespace
}  // namespace bulwark::net
