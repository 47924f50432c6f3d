// The anti-spoofing filter (devices/net/frame_filter) on frames in both directions, and its
// operator-text parsers. Input: byte 0 = mode and policy: bit 7 set: the rest is text for
// parse_mac and parse_ip_prefix; else bit 0 allow_vlan, bit 1 allowed_ips set (10.0.0.2/32,
// fd00::2/128), bit 2 also fe80::/10 and 10.0.0.0/24; then one Ethernet frame (no vnet header).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "devices/net/frame_filter.h"

namespace {

using namespace bulwark::net;

void text_mode(std::string_view text) {
  auto mac = parse_mac(text);
  if (mac.ok()) {
    auto again = parse_mac(mac->to_string());
    if (!again.ok() || !(*again == *mac)) std::abort();
  }
  auto prefix = parse_ip_prefix(text);
  if (prefix.ok()) {
    if (prefix->prefix_len > (prefix->v6 ? 128 : 32)) std::abort();
    // The prefix contains its own address.
    const std::span<const uint8_t> addr(prefix->addr.data(), prefix->v6 ? 16 : 4);
    if (!prefix->contains(addr)) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  if (mode & 0x80) {
    text_mode(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
    return 0;
  }
  FilterPolicy policy;
  policy.mac.bytes = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
  policy.allow_vlan = (mode & 1) != 0;
  if (mode & 2) policy.allowed_ips = {*parse_ip_prefix("10.0.0.2/32"), *parse_ip_prefix("fd00::2/128")};
  if (mode & 4) {
    policy.allowed_ips.push_back(*parse_ip_prefix("fe80::/10"));
    policy.allowed_ips.push_back(*parse_ip_prefix("10.0.0.0/24"));
  }
  const std::span<const uint8_t> frame(data + 1, size - 1);

  const DropReason tx = check_guest_frame(policy, frame);
  if (static_cast<uint8_t>(tx) >= static_cast<uint8_t>(DropReason::kCount)) std::abort();
  if (tx == DropReason::kNotForGuest) std::abort();  // an RX reason
  if (tx == DropReason::kNone) {
    // Passed: a whole Ethernet header with the NIC's source MAC.
    if (frame.size() < kEthHeaderSize) std::abort();
    if (!std::equal(policy.mac.bytes.begin(), policy.mac.bytes.end(), frame.begin() + 6)) std::abort();
    const uint16_t type = static_cast<uint16_t>((frame[12] << 8) | frame[13]);
    if (!policy.allow_vlan && (type == kEthTypeVlan || type == kEthTypeQinQ)) std::abort();
  }
  const DropReason rx = check_host_frame(policy, frame);
  if (rx == DropReason::kNone) {
    if (frame.size() < kEthHeaderSize) std::abort();
    if (!(frame[0] & 1) && !std::equal(policy.mac.bytes.begin(), policy.mac.bytes.end(), frame.begin()))
      std::abort();
  } else if (rx != DropReason::kNotForGuest && rx != DropReason::kTooShort) {
    std::abort();
  }
  (void)drop_reason_name(tx);
  return 0;
}
