// The virtio-net control queue (virtio 1.x 5.1.6.5): a command is the device-readable part of
// one chain, `u8 class, u8 command, command-specific data`, and the device answers with one
// ack byte (kCtrlOk / kCtrlErr) in the chain's first writable byte. Pure: parses the readable
// bytes (gathered by the caller into one span) into a typed command; an Error is answered
// with kCtrlErr. Trailing bytes after a command's data are refused.
//
// Commands understood (everything else is an Error):
//   class 0 RX,   commands 0..5 (PROMISC, ALLMULTI, ALLUNI, NOMULTI, NOUNI, NOBCAST), u8 0|1
//                 -> RxMode (any other on/off byte is refused)
//   class 1 MAC,  0 TABLE_SET: le32 n + n*6 unicast, le32 m + m*6 multicast -> MacTable
//                 (n, m <= kMaxMacTableEntries each; counts larger than the bytes refused;
//                 unicast entries must be unicast, multicast entries multicast)
//                 1 ADDR_SET: 6 bytes -> MacAddrSet (must be unicast and not zero)
//   class 3 ANNOUNCE, 0 ACK, no data -> AnnounceAck
//   class 4 MQ,   0 VQ_PAIRS_SET: le16 pairs in 1..max_queue_pairs -> QueuePairsSet
//                 (RSS_CONFIG / HASH_CONFIG are not offered and are refused)
//   class 5 GUEST_OFFLOADS, 0 SET: le64 -> GuestOffloadsSet (only the GUEST_CSUM, GUEST_TSO4,
//                 GUEST_TSO6, GUEST_ECN, GUEST_UFO bits; any other bit is refused)
//   class 2 VLAN is not offered (no CTRL_VLAN) and is refused.
// Whether the command's feature was negotiated, and whether the operator lets the guest
// change its MAC, is for the device to decide: see required_feature().
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include "bulwark/common/result.h"
#include "devices/net/frame_filter.h"

namespace bulwark::net {

inline constexpr uint8_t kCtrlOk = 0, kCtrlErr = 1;

// Classes and commands (VIRTIO_NET_CTRL_*).
inline constexpr uint8_t kCtrlClassRx = 0;
inline constexpr uint8_t kCtrlRxPromisc = 0;
inline constexpr uint8_t kCtrlRxAllMulti = 1;
inline constexpr uint8_t kCtrlRxAllUni = 2;
inline constexpr uint8_t kCtrlRxNoMulti = 3;
inline constexpr uint8_t kCtrlRxNoUni = 4;
inline constexpr uint8_t kCtrlRxNoBcast = 5;
inline constexpr uint8_t kCtrlClassMac = 1;
inline constexpr uint8_t kCtrlMacTableSet = 0;
inline constexpr uint8_t kCtrlMacAddrSet = 1;
inline constexpr uint8_t kCtrlClassVlan = 2;
inline constexpr uint8_t kCtrlClassAnnounce = 3;
inline constexpr uint8_t kCtrlAnnounceAck = 0;
inline constexpr uint8_t kCtrlClassMq = 4;
inline constexpr uint8_t kCtrlMqVqPairsSet = 0;
inline constexpr uint8_t kCtrlClassGuestOffloads = 5;
inline constexpr uint8_t kCtrlGuestOffloadsSet = 0;

// Most entries accepted in each of the two MAC_TABLE_SET tables (Linux sends at most what
// fits its filter; QEMU keeps 64 in all).
inline constexpr uint32_t kMaxMacTableEntries = 64;
// Longest readable part a well-formed command can have: class + command + the two tables.
inline constexpr size_t kMaxControlCommandSize = 2 + 2 * (4 + 6 * kMaxMacTableEntries);

struct RxMode {
  uint8_t cmd;  // kCtrlRxPromisc .. kCtrlRxNoBcast
  bool on;
};
struct MacTable {
  std::vector<MacAddress> unicast, multicast;
};
struct MacAddrSet {
  MacAddress mac;
};
struct QueuePairsSet {
  uint16_t pairs;
};
struct AnnounceAck {};
struct GuestOffloadsSet {
  uint64_t offloads;  // a mask of feature bits (kNetFGuest*)
};
using ControlCommand =
    std::variant<RxMode, MacTable, MacAddrSet, QueuePairsSet, AnnounceAck, GuestOffloadsSet>;

// readable: every device-readable byte of the chain, in order. max_queue_pairs: the pairs
// the device offers (>= 1).
Result<ControlCommand> parse_control_command(std::span<const uint8_t> readable,
                                             uint16_t max_queue_pairs);

// The feature bit (besides CTRL_VQ) the driver must have negotiated to send this command:
// RxMode PROMISC / ALLMULTI and MacTable need CTRL_RX, the other RX modes CTRL_RX_EXTRA,
// MacAddrSet CTRL_MAC_ADDR, QueuePairsSet MQ, AnnounceAck GUEST_ANNOUNCE, GuestOffloadsSet
// CTRL_GUEST_OFFLOADS (whose bits must also be a subset of the GUEST_* features negotiated:
// the device checks that, the parser only refuses non-GUEST_* bits).
unsigned required_feature(const ControlCommand& command);

// The GUEST_* feature bits a GuestOffloadsSet may name.
uint64_t guest_offload_mask();

}  // namespace bulwark::net
