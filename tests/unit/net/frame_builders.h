// Builders for the Ethernet / ARP / IPv4 / IPv6 / NDP frames the net parser tests (and the
// fuzz seed generator) use. Test-only.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "devices/net/frame_filter.h"

namespace bulwark::net::testing {

using Bytes = std::vector<uint8_t>;

inline void put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v & 0xff));
}
inline void append(Bytes& b, std::initializer_list<uint8_t> v) { b.insert(b.end(), v); }
template <typename C>
inline void append(Bytes& b, const C& v) { b.insert(b.end(), v.begin(), v.end()); }

inline MacAddress mac(std::initializer_list<uint8_t> v) {
  MacAddress m;
  std::copy(v.begin(), v.end(), m.bytes.begin());
  return m;
}

inline Bytes eth(const MacAddress& dst, const MacAddress& src, uint16_t type) {
  Bytes b;
  append(b, dst.bytes);
  append(b, src.bytes);
  put16(b, type);
  return b;
}

// An Ethernet/IPv4 ARP packet.
inline Bytes arp(uint16_t op, const MacAddress& sha, std::array<uint8_t, 4> spa,
                 const MacAddress& tha, std::array<uint8_t, 4> tpa) {
  Bytes b;
  put16(b, 1);
  put16(b, 0x0800);
  append(b, {6, 4});
  put16(b, op);
  append(b, sha.bytes);
  append(b, spa);
  append(b, tha.bytes);
  append(b, tpa);
  return b;
}

// An IPv4 header (IHL 5) followed by `l4`.
inline Bytes ipv4(std::array<uint8_t, 4> src, std::array<uint8_t, 4> dst, uint8_t proto,
                  const Bytes& l4, uint16_t frag = 0) {
  Bytes b = {0x45, 0};
  put16(b, static_cast<uint16_t>(20 + l4.size()));
  put16(b, 0);
  put16(b, frag);
  append(b, {64, proto, 0, 0});
  append(b, src);
  append(b, dst);
  append(b, l4);
  return b;
}

inline Bytes udp(uint16_t sport, uint16_t dport, size_t payload = 8) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put16(b, static_cast<uint16_t>(8 + payload));
  put16(b, 0);
  b.resize(b.size() + payload, 0xab);
  return b;
}

using V6 = std::array<uint8_t, 16>;
inline V6 v6(std::initializer_list<uint8_t> head, std::initializer_list<uint8_t> tail = {}) {
  V6 a{};
  std::copy(head.begin(), head.end(), a.begin());
  std::copy(tail.begin(), tail.end(), a.end() - static_cast<std::ptrdiff_t>(tail.size()));
  return a;
}

inline Bytes ipv6(const V6& src, const V6& dst, uint8_t next, const Bytes& payload) {
  Bytes b = {0x60, 0, 0, 0};
  put16(b, static_cast<uint16_t>(payload.size()));
  append(b, {next, 255});
  append(b, src);
  append(b, dst);
  append(b, payload);
  return b;
}

// An ICMPv6 NDP message: type, code 0, checksum 0, then `body` (reserved/flags + target ...),
// then the options.
inline Bytes icmpv6(uint8_t type, const Bytes& body) {
  Bytes b = {type, 0, 0, 0};
  append(b, body);
  return b;
}
inline Bytes ns_or_na_body(const V6& target, uint8_t flags = 0) {
  Bytes b = {flags, 0, 0, 0};
  append(b, target);
  return b;
}
// A link-layer address option (1 source, 2 target).
inline Bytes ll_option(uint8_t type, const MacAddress& m) {
  Bytes b = {type, 1};
  append(b, m.bytes);
  return b;
}

inline Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace bulwark::net::testing
