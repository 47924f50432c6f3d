// The virtio-net control-queue command parser (devices/net/control_command). Input: bytes 0-1
// = the queue pairs the device offers (le16), then the readable bytes of one chain.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <variant>

#include "devices/net/control_command.h"
#include "devices/net/vnet_header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bulwark::net;
  if (size < 2) return 0;
  const uint16_t max_pairs = static_cast<uint16_t>(data[0] | (data[1] << 8));
  const std::span<const uint8_t> readable(data + 2, size - 2);
  auto parsed = parse_control_command(readable, max_pairs);
  if (!parsed.ok()) {
    if (parsed.error().message().empty()) std::abort();
    return 0;
  }
  if (readable.size() > kMaxControlCommandSize) std::abort();
  const ControlCommand& command = *parsed;
  const unsigned feature = required_feature(command);
  if (feature >= 64) std::abort();
  if (const auto* table = std::get_if<MacTable>(&command)) {
    if (table->unicast.size() > kMaxMacTableEntries || table->multicast.size() > kMaxMacTableEntries)
      std::abort();
    for (const MacAddress& m : table->unicast)
      if (m.is_multicast()) std::abort();
    for (const MacAddress& m : table->multicast)
      if (!m.is_multicast()) std::abort();
    if (readable.size() != 2 + 8 + 6 * (table->unicast.size() + table->multicast.size()))
      std::abort();
  } else if (const auto* set = std::get_if<MacAddrSet>(&command)) {
    if (set->mac.is_multicast() || set->mac.is_zero()) std::abort();
  } else if (const auto* pairs = std::get_if<QueuePairsSet>(&command)) {
    if (pairs->pairs == 0 || pairs->pairs > max_pairs) std::abort();
  } else if (const auto* off = std::get_if<GuestOffloadsSet>(&command)) {
    if ((off->offloads & ~guest_offload_mask()) != 0) std::abort();
  } else if (const auto* rx = std::get_if<RxMode>(&command)) {
    if (rx->cmd > kCtrlRxNoBcast) std::abort();
  }
  return 0;
}
