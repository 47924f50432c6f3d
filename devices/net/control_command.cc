#include "devices/net/control_command.h"

#include <algorithm>
#include <string>
#include <type_traits>

#include "devices/net/vnet_header.h"

namespace bulwark::net {
namespace {

Error refuse_command(const std::string& why) { return Error("control command: " + why); }

// A cursor over the readable bytes; every take is checked as start + length.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> b) : b_(b) {}
  size_t left() const { return b_.size() - at_; }
  bool take(size_t n, std::span<const uint8_t>& out) {
    if (n > left()) return false;
    out = b_.subspan(at_, n);
    at_ += n;
    return true;
  }
  bool u8(uint8_t& v) {
    std::span<const uint8_t> s;
    if (!take(1, s)) return false;
    v = s[0];
    return true;
  }
  template <typename T>
  bool le(T& v) {
    static_assert(std::is_unsigned_v<T>);
    std::span<const uint8_t> s;
    if (!take(sizeof(T), s)) return false;
    v = 0;
    for (size_t i = sizeof(T); i-- > 0;) v = static_cast<T>((v << 8) | s[i]);
    return true;
  }

 private:
  std::span<const uint8_t> b_;
  size_t at_ = 0;
};

Status expect_end(const Reader& r, const char* what) {
  if (r.left() != 0)
    return refuse_command(std::string(what) + ": " + std::to_string(r.left()) + " trailing bytes");
  return ok_status();
}

Status read_mac_list(Reader& r, const char* which, bool multicast,
                     std::vector<MacAddress>& out) {
  uint32_t entries = 0;
  if (!r.le(entries)) return refuse_command(std::string("MAC_TABLE_SET: no ") + which + " count");
  if (entries > kMaxMacTableEntries)
    return refuse_command(std::string("MAC_TABLE_SET: ") + std::to_string(entries) + " " + which +
                  " entries (at most " + std::to_string(kMaxMacTableEntries) + ")");
  // entries <= 64, so entries * 6 cannot overflow; still check against what is there.
  if (size_t{entries} * 6 > r.left())
    return refuse_command(std::string("MAC_TABLE_SET: ") + std::to_string(entries) + " " + which +
                  " entries but only " + std::to_string(r.left()) + " bytes");
  out.reserve(entries);
  for (uint32_t i = 0; i < entries; ++i) {
    std::span<const uint8_t> s;
    if (!r.take(6, s)) return refuse_command("MAC_TABLE_SET: truncated entry");
    MacAddress mac;
    std::copy(s.begin(), s.end(), mac.bytes.begin());
    if (mac.is_multicast() != multicast)
      return refuse_command(std::string("MAC_TABLE_SET: ") + mac.to_string() + " in the " + which +
                    " table");
    out.push_back(mac);
  }
  return ok_status();
}

Result<ControlCommand> parse_rx(uint8_t cmd, Reader& r) {
  if (cmd > kCtrlRxNoBcast) return refuse_command("unknown RX command " + std::to_string(cmd));
  uint8_t on = 0;
  if (!r.u8(on)) return refuse_command("RX: no on/off byte");
  if (on > 1) return refuse_command("RX: on/off byte " + std::to_string(on));
  BULWARK_TRY(expect_end(r, "RX"));
  return ControlCommand(RxMode{cmd, on == 1});
}

Result<ControlCommand> parse_mac_command(uint8_t cmd, Reader& r) {
  if (cmd == kCtrlMacTableSet) {
    MacTable table;
    BULWARK_TRY(read_mac_list(r, "unicast", false, table.unicast));
    BULWARK_TRY(read_mac_list(r, "multicast", true, table.multicast));
    BULWARK_TRY(expect_end(r, "MAC_TABLE_SET"));
    return ControlCommand(std::move(table));
  }
  if (cmd == kCtrlMacAddrSet) {
    std::span<const uint8_t> s;
    if (!r.take(6, s)) return refuse_command("MAC_ADDR_SET: fewer than 6 bytes");
    BULWARK_TRY(expect_end(r, "MAC_ADDR_SET"));
    MacAddrSet set;
    std::copy(s.begin(), s.end(), set.mac.bytes.begin());
    if (set.mac.is_multicast() || set.mac.is_zero())
      return refuse_command("MAC_ADDR_SET: " + set.mac.to_string() + " is not a unicast address");
    return ControlCommand(set);
  }
  return refuse_command("unknown MAC command " + std::to_string(cmd));
}

}  // namespace

uint64_t guest_offload_mask() {
  return feature_bit(kNetFGuestCsum) | feature_bit(kNetFGuestTso4) |
         feature_bit(kNetFGuestTso6) | feature_bit(kNetFGuestEcn) | feature_bit(kNetFGuestUfo);
}

Result<ControlCommand> parse_control_command(std::span<const uint8_t> readable,
                                             uint16_t max_queue_pairs) {
  Reader r(readable);
  uint8_t cls = 0, cmd = 0;
  if (!r.u8(cls) || !r.u8(cmd)) return refuse_command("shorter than class + command");
  switch (cls) {
    case kCtrlClassRx:
      return parse_rx(cmd, r);
    case kCtrlClassMac:
      return parse_mac_command(cmd, r);
    case kCtrlClassAnnounce:
      if (cmd != kCtrlAnnounceAck) return refuse_command("unknown ANNOUNCE command " + std::to_string(cmd));
      BULWARK_TRY(expect_end(r, "ANNOUNCE_ACK"));
      return ControlCommand(AnnounceAck{});
    case kCtrlClassMq: {
      if (cmd != kCtrlMqVqPairsSet) return refuse_command("unknown MQ command " + std::to_string(cmd));
      uint16_t pairs = 0;
      if (!r.le(pairs)) return refuse_command("VQ_PAIRS_SET: fewer than 2 bytes");
      BULWARK_TRY(expect_end(r, "VQ_PAIRS_SET"));
      if (pairs < 1 || pairs > max_queue_pairs)
        return refuse_command("VQ_PAIRS_SET: " + std::to_string(pairs) + " pairs (1.." +
                      std::to_string(max_queue_pairs) + ")");
      return ControlCommand(QueuePairsSet{pairs});
    }
    case kCtrlClassGuestOffloads: {
      if (cmd != kCtrlGuestOffloadsSet)
        return refuse_command("unknown GUEST_OFFLOADS command " + std::to_string(cmd));
      uint64_t offloads = 0;
      if (!r.le(offloads)) return refuse_command("GUEST_OFFLOADS_SET: fewer than 8 bytes");
      BULWARK_TRY(expect_end(r, "GUEST_OFFLOADS_SET"));
      if ((offloads & ~guest_offload_mask()) != 0)
        return refuse_command("GUEST_OFFLOADS_SET: bits other than GUEST_* offloads");
      return ControlCommand(GuestOffloadsSet{offloads});
    }
    case kCtrlClassVlan:
      return refuse_command("VLAN filtering is not offered");
    default:
      return refuse_command("unknown class " + std::to_string(cls));
  }
}

unsigned required_feature(const ControlCommand& command) {
  struct Visitor {
    unsigned operator()(const RxMode& m) const {
      return m.cmd <= kCtrlRxAllMulti ? kNetFCtrlRx : kNetFCtrlRxExtra;
    }
    unsigned operator()(const MacTable&) const { return kNetFCtrlRx; }
    unsigned operator()(const MacAddrSet&) const { return kNetFCtrlMacAddr; }
    unsigned operator()(const QueuePairsSet&) const { return kNetFMq; }
    unsigned operator()(const AnnounceAck&) const { return kNetFGuestAnnounce; }
    unsigned operator()(const GuestOffloadsSet&) const { return kNetFCtrlGuestOffloads; }
  };
  return std::visit(Visitor{}, command);
}

}  // namespace bulwark::net
