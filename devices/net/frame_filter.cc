#include "devices/net/frame_filter.h"

#include <algorithm>
#include <optional>

namespace bulwark::net {
namespace {

// A bounds-checked view of guest bytes: every read is checked as start + length against the
// size (no overflow: sizes are size_t and start <= size is checked first).
class Bytes {
 public:
  explicit Bytes(std::span<const uint8_t> b) : b_(b) {}
  size_t size() const { return b_.size(); }
  bool has(size_t start, size_t length) const {
    return start <= b_.size() && length <= b_.size() - start;
  }
  std::optional<uint8_t> u8(size_t at) const {
    if (!has(at, 1)) return std::nullopt;
    return b_[at];
  }
  std::optional<uint16_t> be16(size_t at) const {
    if (!has(at, 2)) return std::nullopt;
    return static_cast<uint16_t>((b_[at] << 8) | b_[at + 1]);
  }
  std::optional<std::span<const uint8_t>> sub(size_t start, size_t length) const {
    if (!has(start, length)) return std::nullopt;
    return b_.subspan(start, length);
  }
  std::span<const uint8_t> from(size_t start) const {
    return start <= b_.size() ? b_.subspan(start) : std::span<const uint8_t>();
  }

 private:
  std::span<const uint8_t> b_;
};

bool mac_equals(std::span<const uint8_t> six, const MacAddress& mac) {
  return six.size() == 6 && std::equal(six.begin(), six.end(), mac.bytes.begin());
}

bool all_zero(std::span<const uint8_t> b) {
  return std::all_of(b.begin(), b.end(), [](uint8_t v) { return v == 0; });
}

bool in_allowed(const FilterPolicy& policy, std::span<const uint8_t> address) {
  return std::any_of(policy.allowed_ips.begin(), policy.allowed_ips.end(),
                     [&](const IpPrefix& p) { return p.contains(address); });
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decimal 0..max without sign, leading zeros (other than "0" itself) or other characters.
std::optional<unsigned> parse_decimal(std::string_view s, unsigned max) {
  if (s.empty() || s.size() > 3 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > max) return std::nullopt;
  return v;
}

std::optional<std::array<uint8_t, 4>> parse_ipv4(std::string_view s) {
  std::array<uint8_t, 4> out{};
  for (size_t i = 0; i < 4; ++i) {
    const size_t dot = s.find('.');
    const std::string_view part = i < 3 ? s.substr(0, dot) : s;
    if (i < 3 && dot == std::string_view::npos) return std::nullopt;
    auto v = parse_decimal(part, 255);
    if (!v) return std::nullopt;
    out[i] = static_cast<uint8_t>(*v);
    if (i < 3) s.remove_prefix(dot + 1);
  }
  return out;
}

// Groups of one side of "::" (or the whole address): 1-4 hex digits each, separated by ':';
// the last may be a dotted IPv4 tail (two groups) when allow_v4_tail. Empty side: no groups.
bool parse_v6_groups(std::string_view s, bool allow_v4_tail, std::vector<uint16_t>& out) {
  if (s.empty()) return true;
  while (true) {
    const size_t colon = s.find(':');
    const std::string_view group = s.substr(0, colon);
    const bool last = colon == std::string_view::npos;
    if (last && allow_v4_tail && group.find('.') != std::string_view::npos) {
      auto v4 = parse_ipv4(group);
      if (!v4) return false;
      out.push_back(static_cast<uint16_t>(((*v4)[0] << 8) | (*v4)[1]));
      out.push_back(static_cast<uint16_t>(((*v4)[2] << 8) | (*v4)[3]));
      return true;
    }
    if (group.empty() || group.size() > 4) return false;
    unsigned v = 0;
    for (char c : group) {
      const int d = hex_digit(c);
      if (d < 0) return false;
      v = v * 16 + static_cast<unsigned>(d);
    }
    out.push_back(static_cast<uint16_t>(v));
    if (out.size() > 8) return false;
    if (last) return true;
    s.remove_prefix(colon + 1);
  }
}

std::optional<std::array<uint8_t, 16>> parse_ipv6(std::string_view s) {
  std::vector<uint16_t> head, tail;
  const size_t gap = s.find("::");
  bool ok = false;
  if (gap == std::string_view::npos) {
    ok = parse_v6_groups(s, true, head) && head.size() == 8;
  } else {
    const std::string_view right = s.substr(gap + 2);
    if (right.find("::") != std::string_view::npos) return std::nullopt;
    ok = parse_v6_groups(s.substr(0, gap), false, head) && parse_v6_groups(right, true, tail) &&
         head.size() + tail.size() <= 7;
  }
  if (!ok) return std::nullopt;
  std::array<uint16_t, 8> groups{};
  std::copy(head.begin(), head.end(), groups.begin());
  std::copy(tail.begin(), tail.end(), groups.end() - static_cast<std::ptrdiff_t>(tail.size()));
  std::array<uint8_t, 16> out{};
  for (size_t i = 0; i < 8; ++i) {
    out[2 * i] = static_cast<uint8_t>(groups[i] >> 8);
    out[2 * i + 1] = static_cast<uint8_t>(groups[i] & 0xff);
  }
  return out;
}

// ---- TX checks --------------------------------------------------------------------------

DropReason check_arp(const FilterPolicy& policy, Bytes arp) {
  // htype(2) ptype(2) hlen(1) plen(1) oper(2) sha(6) spa(4) tha(6) tpa(4)
  if (!arp.has(0, 28)) return DropReason::kMalformed;
  if (arp.be16(0) != 1 || arp.be16(2) != kEthTypeIpv4 || arp.u8(4) != 6 || arp.u8(5) != 4)
    return DropReason::kMalformed;
  if (!mac_equals(*arp.sub(8, 6), policy.mac)) return DropReason::kArpSpoof;
  const auto spa = *arp.sub(14, 4);
  if (all_zero(spa)) return DropReason::kNone;  // ARP probe (RFC 5227)
  return in_allowed(policy, spa) ? DropReason::kNone : DropReason::kArpSpoof;
}

DropReason check_ipv4(const FilterPolicy& policy, Bytes ip) {
  const auto ver_ihl = ip.u8(0);
  if (!ver_ihl || !ip.has(0, 20)) return DropReason::kMalformed;
  const size_t ihl = size_t{*ver_ihl & 0x0fu} * 4;
  if ((*ver_ihl >> 4) != 4 || ihl < 20 || !ip.has(0, ihl)) return DropReason::kMalformed;
  const auto src = *ip.sub(12, 4);
  if (in_allowed(policy, src)) return DropReason::kNone;
  if (!all_zero(src)) return DropReason::kIpv4Source;
  // 0.0.0.0: only DHCP, an unfragmented (first-fragment) UDP datagram from 68 to 67.
  const uint16_t frag = *ip.be16(6);
  if (*ip.u8(9) != 17 || (frag & 0x1fff) != 0) return DropReason::kIpv4Source;
  if (ip.be16(ihl) != 68 || ip.be16(ihl + 2) != 67) return DropReason::kIpv4Source;
  return DropReason::kNone;
}

constexpr uint8_t kIcmpv6 = 58;
constexpr uint8_t kIcmpRs = 133, kIcmpRa = 134, kIcmpNs = 135, kIcmpNa = 136, kIcmpRedirect = 137;
constexpr uint8_t kIcmpMldv2Report = 143;
constexpr size_t kMaxExtensionHeaders = 8;

// Walks the link-layer options of an NDP message: type 1 / 2 must carry the NIC's MAC.
DropReason check_ndp_options(const FilterPolicy& policy, Bytes msg, size_t at,
                             bool forbid_source_ll) {
  while (at < msg.size()) {
    const auto type = msg.u8(at);
    const auto len8 = msg.u8(at + 1);
    if (!type || !len8 || *len8 == 0) return DropReason::kMalformed;
    const size_t len = size_t{*len8} * 8;
    if (!msg.has(at, len)) return DropReason::kMalformed;
    if (*type == 1 || *type == 2) {
      if (len != 8) return DropReason::kMalformed;
      if (*type == 1 && forbid_source_ll) return DropReason::kNdpSpoof;
      if (!mac_equals(*msg.sub(at + 2, 6), policy.mac)) return DropReason::kNdpSpoof;
    }
    at += len;
  }
  return DropReason::kNone;
}

DropReason check_ndp(const FilterPolicy& policy, Bytes icmp, bool from_unspecified) {
  const uint8_t type = *icmp.u8(0);
  switch (type) {
    case kIcmpRs:
      if (!icmp.has(0, 8)) return DropReason::kMalformed;
      return check_ndp_options(policy, icmp, 8, from_unspecified);
    case kIcmpRa:
      if (!icmp.has(0, 16)) return DropReason::kMalformed;
      return check_ndp_options(policy, icmp, 16, false);
    case kIcmpNs:
      if (!icmp.has(0, 24)) return DropReason::kMalformed;
      // DAD only for the guest's own addresses: an NS from :: for another host's address
      // would make that host's DAD fail.
      if (from_unspecified && !in_allowed(policy, *icmp.sub(8, 16))) return DropReason::kNdpSpoof;
      return check_ndp_options(policy, icmp, 24, from_unspecified);
    case kIcmpNa:
      if (!icmp.has(0, 24)) return DropReason::kMalformed;
      if (!in_allowed(policy, *icmp.sub(8, 16))) return DropReason::kNdpSpoof;
      return check_ndp_options(policy, icmp, 24, false);
    default:  // kIcmpRedirect: only its length is checked
      return icmp.has(0, 40) ? DropReason::kNone : DropReason::kMalformed;
  }
}

DropReason check_ipv6(const FilterPolicy& policy, Bytes packet) {
  if (!packet.has(0, 40) || (*packet.u8(0) >> 4) != 6) return DropReason::kMalformed;
  const size_t payload_len = *packet.be16(4);
  if (payload_len == 0 || !packet.has(40, payload_len)) return DropReason::kMalformed;
  const Bytes ip(*packet.sub(0, 40 + payload_len));  // without Ethernet padding

  // Find the upper-layer protocol behind the extension headers.
  uint8_t next = *ip.u8(6);
  size_t at = 40;
  bool fragmented_first = false;  // a fragment header with offset 0
  bool later_fragment = false;    // a fragment header with offset > 0
  for (size_t hops = 0;; ++hops) {
    if (next != 0 && next != 43 && next != 60 && next != 44) break;
    if (hops == kMaxExtensionHeaders) return DropReason::kMalformed;
    if (!ip.has(at, 8)) return DropReason::kMalformed;
    const uint8_t this_type = next;
    next = *ip.u8(at);
    if (this_type == 44) {
      if ((*ip.be16(at + 2) & 0xfff8) != 0) later_fragment = true;
      else fragmented_first = true;
      at += 8;
      if (later_fragment) break;  // the rest is not a header
    } else {
      const size_t len = (size_t{*ip.u8(at + 1)} + 1) * 8;
      if (!ip.has(at, len)) return DropReason::kMalformed;
      at += len;
    }
  }
  std::optional<uint8_t> icmp_type;
  if (next == kIcmpv6 && !later_fragment) {
    icmp_type = ip.u8(at);
    if (!icmp_type) return DropReason::kMalformed;
  }
  const bool ndp = icmp_type && *icmp_type >= kIcmpRs && *icmp_type <= kIcmpRedirect;
  if (ndp && fragmented_first) return DropReason::kNdpSpoof;

  const auto src = *ip.sub(8, 16);
  const bool unspecified = all_zero(src);
  if (unspecified) {
    // DAD and what goes with it: NS, RS, MLDv2 reports; unfragmented.
    if (fragmented_first || !icmp_type ||
        (*icmp_type != kIcmpNs && *icmp_type != kIcmpRs && *icmp_type != kIcmpMldv2Report))
      return DropReason::kIpv6Source;
  } else if (!in_allowed(policy, src)) {
    return DropReason::kIpv6Source;
  }
  if (ndp) return check_ndp(policy, Bytes(ip.from(at)), unspecified);
  return DropReason::kNone;
}

bool is_vlan_type(uint16_t t) {
  return t == kEthTypeVlan || t == kEthTypeQinQ || t == kEthTypeQinQOld;
}

}  // namespace

bool MacAddress::is_broadcast() const {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0xff; });
}

bool MacAddress::is_zero() const { return all_zero(bytes); }

std::string MacAddress::to_string() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i) s += ':';
    s += kHex[bytes[i] >> 4];
    s += kHex[bytes[i] & 0xf];
  }
  return s;
}

Result<MacAddress> parse_mac(std::string_view text) {
  if (text.size() != 17) return Error("MAC address '" + std::string(text) + "': not xx:xx:xx:xx:xx:xx");
  MacAddress mac;
  for (size_t i = 0; i < 6; ++i) {
    const int hi = hex_digit(text[3 * i]);
    const int lo = hex_digit(text[3 * i + 1]);
    if (hi < 0 || lo < 0 || (i < 5 && text[3 * i + 2] != ':'))
      return Error("MAC address '" + std::string(text) + "': not xx:xx:xx:xx:xx:xx");
    mac.bytes[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return mac;
}

bool IpPrefix::contains(std::span<const uint8_t> address) const {
  if (address.size() != (v6 ? 16u : 4u)) return false;
  const size_t full = prefix_len / 8;
  const unsigned rest = prefix_len % 8;
  if (full > address.size() || (full == address.size() && rest != 0)) return false;
  if (!std::equal(address.begin(), address.begin() + static_cast<std::ptrdiff_t>(full),
                  addr.begin()))
    return false;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff00u >> rest);
  return (address[full] & mask) == (addr[full] & mask);
}

Result<IpPrefix> parse_ip_prefix(std::string_view text) {
  const auto bad = [&](const char* why) {
    return Error("IP prefix '" + std::string(text) + "': " + why);
  };
  const size_t slash = text.find('/');
  const std::string_view address = text.substr(0, slash);
  IpPrefix p;
  if (address.find(':') != std::string_view::npos) {
    auto a = parse_ipv6(address);
    if (!a) return bad("not an IPv6 address");
    p.v6 = true;
    p.addr = *a;
  } else {
    auto a = parse_ipv4(address);
    if (!a) return bad("not an IPv4 address");
    std::copy(a->begin(), a->end(), p.addr.begin());
  }
  const unsigned max_len = p.v6 ? 128 : 32;
  p.prefix_len = static_cast<uint8_t>(max_len);
  if (slash != std::string_view::npos) {
    auto len = parse_decimal(text.substr(slash + 1), max_len);
    if (!len) return bad("prefix length is not 0..32 (IPv4) / 0..128 (IPv6)");
    p.prefix_len = static_cast<uint8_t>(*len);
  }
  // No host bits past the prefix.
  for (unsigned bit = p.prefix_len; bit < max_len; ++bit) {
    if (p.addr[bit / 8] & (0x80u >> (bit % 8))) return bad("address has bits set past the prefix");
  }
  return p;
}

const char* drop_reason_name(DropReason reason) {
  switch (reason) {
    case DropReason::kNone: return "none";
    case DropReason::kTooShort: return "too_short";
    case DropReason::kSourceMac: return "source_mac";
    case DropReason::kVlan: return "vlan";
    case DropReason::kArpSpoof: return "arp_spoof";
    case DropReason::kIpv4Source: return "ipv4_source";
    case DropReason::kIpv6Source: return "ipv6_source";
    case DropReason::kNdpSpoof: return "ndp_spoof";
    case DropReason::kMalformed: return "malformed";
    case DropReason::kNotForGuest: return "not_for_guest";
    case DropReason::kCount: break;
  }
  return "unknown";
}

DropReason check_guest_frame(const FilterPolicy& policy, std::span<const uint8_t> frame) {
  const Bytes eth(frame);
  if (!eth.has(0, kEthHeaderSize)) return DropReason::kTooShort;
  if (!mac_equals(*eth.sub(6, 6), policy.mac)) return DropReason::kSourceMac;
  size_t at = 12;
  uint16_t type = *eth.be16(at);
  for (int tags = 0; is_vlan_type(type); ++tags) {
    if (!policy.allow_vlan) return DropReason::kVlan;
    if (tags == 2) return DropReason::kMalformed;
    at += 4;  // TPID(2) + TCI(2); the inner ethertype follows
    const auto inner = eth.be16(at);
    if (!inner) return DropReason::kTooShort;
    type = *inner;
  }
  if (policy.allowed_ips.empty()) return DropReason::kNone;
  const Bytes payload(eth.from(at + 2));
  switch (type) {
    case kEthTypeArp: return check_arp(policy, payload);
    case kEthTypeIpv4: return check_ipv4(policy, payload);
    case kEthTypeIpv6: return check_ipv6(policy, payload);
    default: return DropReason::kMalformed;
  }
}

DropReason check_host_frame(const FilterPolicy& policy, std::span<const uint8_t> frame) {
  if (frame.size() < kEthHeaderSize) return DropReason::kTooShort;
  if (frame[0] & 1) return DropReason::kNone;  // multicast, broadcast included
  return mac_equals(frame.first(6), policy.mac) ? DropReason::kNone : DropReason::kNotForGuest;
}

}  // namespace bulwark::net
