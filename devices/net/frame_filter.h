// Anti-spoofing for one virtio-net NIC: what a guest may put on the wire (TX) and what the
// device may hand to the guest (RX). Pure: no syscalls, only the bytes of one Ethernet frame
// (destination MAC, source MAC, ethertype, payload; no vnet header, no FCS). A guest's frame
// is hostile: every field is read through a bounds check on start+length.
//
// TX rules (check_guest_frame), in order:
//  1. Shorter than an Ethernet header (14 bytes) -> kTooShort.
//  2. Source MAC is not the NIC's MAC -> kSourceMac.
//  3. Ethertype 0x8100 / 0x88a8 / 0x9100 (a VLAN tag) -> kVlan unless policy.allow_vlan; when
//     allowed, the tags (at most 2) are skipped and the inner ethertype is checked as below.
//  4. Without allowed_ips: nothing more (MAC filtering only).
//  5. With allowed_ips:
//     - ARP (0x0806), Ethernet/IPv4 only: the sender hardware address must be the NIC's MAC
//       (else kArpSpoof) and the sender IP must lie in allowed_ips, except 0.0.0.0 (an ARP
//       probe, RFC 5227). A truncated ARP packet or one that is not Ethernet/IPv4 -> kMalformed.
//     - IPv4 (0x0800): the source must lie in allowed_ips (kIpv4Source), except 0.0.0.0 when
//       the packet is UDP from port 68 to port 67 (DHCP discover / request). A header that is
//       truncated, has a version other than 4 or IHL < 5 -> kMalformed.
//     - IPv6 (0x86dd): the source must lie in allowed_ips (kIpv6Source). Decision: a
//       link-local source (fe80::/10) is NOT implied; it passes only if allowed_ips lists it
//       (e.g. "fe80::/10" or the guest's own fe80::.../128). The unspecified source :: passes
//       only for what DAD / router solicitation / MLD reports need: ICMPv6 (next header 58,
//       found behind at most 8 extension headers, hop-by-hop / routing / destination options)
//       of type 133 (RS), 135 (NS), 143 (MLDv2 report). Other traffic from :: -> kIpv6Source.
//     - NDP (ICMPv6 inside IPv6): a neighbor advertisement (136) must have its target address
//       in allowed_ips (kNdpSpoof); any source / target link-layer address option (types 1 and
//       2) in an RS, RA, NS or NA must carry the NIC's MAC (kNdpSpoof); a neighbor
//       solicitation (135) from :: must carry no source link-layer option (RFC 4861) and its
//       target must lie in allowed_ips (DAD for another host's address would make that host's
//       DAD fail; kNdpSpoof).
//       A truncated NDP message, truncated options, an option of length 0 or a link-layer
//       option that is not 8 bytes -> kMalformed. A fragmented NDP message (a fragment header
//       at offset 0 in front of ICMPv6 types 133..137) -> kNdpSpoof (RFC 6980: NDP is never
//       fragmented; the options could hide in a later fragment). Other fragments pass on
//       their source address alone. Router advertisements and redirects are not blocked
//       (an RA guard is a separate choice); a redirect's options are not inspected.
//       The IPv6 payload length bounds the walk (Ethernet padding is ignored); a payload
//       length past the frame, or 0 (jumbogram) -> kMalformed; at most 8 extension headers
//       (hop-by-hop, routing, destination options, fragment), more -> kMalformed.
//     - Any other ethertype with allowed_ips set -> kMalformed (decision: an IP-restricted NIC
//       speaks ARP, IPv4 and IPv6 only; IPX, LLDP, 802.2 length frames (< 0x0600) and the rest
//       are refused, so nothing can dodge the address checks by wrapping).
//
// RX rule (check_host_frame): the destination MAC is the NIC's, broadcast, or multicast (low
// bit of the first byte set); anything else -> kNotForGuest; shorter than 14 bytes ->
// kTooShort. Promiscuous / all-multi modes asked for through the control queue never widen
// this.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/common/result.h"

namespace bulwark::net {

inline constexpr size_t kEthHeaderSize = 14;

inline constexpr uint16_t kEthTypeIpv4 = 0x0800;
inline constexpr uint16_t kEthTypeArp = 0x0806;
inline constexpr uint16_t kEthTypeVlan = 0x8100;     // 802.1Q
inline constexpr uint16_t kEthTypeQinQ = 0x88a8;     // 802.1ad
inline constexpr uint16_t kEthTypeQinQOld = 0x9100;  // pre-standard double tagging
inline constexpr uint16_t kEthTypeIpv6 = 0x86dd;

struct MacAddress {
  std::array<uint8_t, 6> bytes{};

  bool operator==(const MacAddress&) const = default;
  bool is_multicast() const { return (bytes[0] & 1) != 0; }  // includes broadcast
  bool is_broadcast() const;
  bool is_zero() const;
  // "52:54:00:12:34:56" (lower-case hex).
  std::string to_string() const;
};

// Parses "52:54:00:12:34:56" (exactly six two-digit hex groups separated by ':'; upper or
// lower case). Anything else is an Error.
Result<MacAddress> parse_mac(std::string_view text);

// An IPv4 or IPv6 prefix. addr holds the address in network byte order: IPv4 in addr[0..3]
// (rest zero), IPv6 in all 16 bytes. Bits past prefix_len are cleared by the parser.
struct IpPrefix {
  bool v6 = false;
  std::array<uint8_t, 16> addr{};
  uint8_t prefix_len = 0;

  bool operator==(const IpPrefix&) const = default;
  // True when the address (4 bytes for IPv4, 16 for IPv6, same family) lies in the prefix.
  bool contains(std::span<const uint8_t> address) const;
};

// "10.0.0.2/32", "10.0.0.0/24", "fd00::2/128", "fe80::/10"; a plain address means a full-length
// prefix (/32 or /128). IPv4 is four decimal octets (no leading zeros beyond "0", no octal);
// IPv6 is RFC 4291 text with at most one "::" (embedded dotted IPv4 tails are accepted, zone
// ids are not). Host bits set past the prefix are an Error (so "10.0.0.1/24" is refused: say
// what you mean).
Result<IpPrefix> parse_ip_prefix(std::string_view text);

struct FilterPolicy {
  MacAddress mac;
  std::vector<IpPrefix> allowed_ips;  // empty: MAC filtering only
  bool allow_vlan = false;
};

enum class DropReason : uint8_t {
  kNone,  // pass
  kTooShort,
  kSourceMac,
  kVlan,
  kArpSpoof,
  kIpv4Source,
  kIpv6Source,
  kNdpSpoof,
  kMalformed,
  kNotForGuest,
  kCount,  // number of reasons, for per-reason counter arrays
};

// "none", "too_short", "source_mac", "vlan", "arp_spoof", "ipv4_source", "ipv6_source",
// "ndp_spoof", "malformed", "not_for_guest"; "unknown" for anything else. Static strings.
const char* drop_reason_name(DropReason reason);

// A frame the guest sent (TX): kNone to pass it on, else why it is dropped. See the top.
DropReason check_guest_frame(const FilterPolicy& policy, std::span<const uint8_t> frame);

// A frame from the host side toward the guest (RX): kNone to deliver. See the top.
DropReason check_host_frame(const FilterPolicy& policy, std::span<const uint8_t> frame);

}  // namespace bulwark::net
