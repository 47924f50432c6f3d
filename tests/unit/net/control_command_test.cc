// Control-queue commands from an attacker's point of view: each row the readable bytes of a
// chain and what must come of them.
#include "devices/net/control_command.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "devices/net/vnet_header.h"

namespace bulwark::net {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes le32(uint32_t v) {
  return {static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v >> 16),
          static_cast<uint8_t>(v >> 24)};
}
Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
Bytes macs(uint32_t n, uint8_t first) {
  Bytes b;
  for (uint32_t i = 0; i < n; ++i) {
    Bytes m = {first, 0x54, 0, 0, 0, static_cast<uint8_t>(i)};
    b.insert(b.end(), m.begin(), m.end());
  }
  return b;
}
Bytes table(uint32_t n_uni, uint32_t n_multi) {
  return cat(cat(cat(Bytes{kCtrlClassMac, kCtrlMacTableSet}, le32(n_uni)), macs(n_uni, 0x52)),
             cat(le32(n_multi), macs(n_multi, 0x33)));
}

struct CommandCase {
  std::string name;
  Bytes readable;
  bool ok;
  std::string error_part;
};

constexpr uint16_t kMaxPairs = 4;

TEST(ControlCommandTest, Refusals) {
  const CommandCase cases[] = {
      {"empty", {}, false, "shorter"},
      {"class_only", {kCtrlClassRx}, false, "shorter"},
      {"rx_promisc_on", {0, 0, 1}, true, ""},
      {"rx_nobcast_off", {0, 5, 0}, true, ""},
      {"rx_unknown_command", {0, 6, 1}, false, "unknown RX"},
      {"rx_on_byte_2", {0, 0, 2}, false, "on/off"},
      {"rx_missing_byte", {0, 0}, false, "on/off"},
      {"rx_trailing", {0, 0, 1, 0}, false, "trailing"},
      {"mac_table_empty", table(0, 0), true, ""},
      {"mac_table_full", table(64, 64), true, ""},
      {"mac_table_65_unicast", table(65, 0), false, "at most 64"},
      {"mac_table_claims_more_than_bytes", cat(Bytes{1, 0}, cat(le32(3), macs(2, 0x52))), false, "only 12 bytes"},
      {"mac_table_huge_count", cat(Bytes{1, 0}, le32(0xffffffff)), false, "at most 64"},
      {"mac_table_no_multicast_count", cat(cat(Bytes{1, 0}, le32(1)), macs(1, 0x52)), false, "multicast count"},
      {"mac_table_multicast_claims_more", cat(cat(cat(Bytes{1, 0}, le32(0)), le32(2)), macs(1, 0x33)), false, "only 6 bytes"},
      {"mac_table_trailing", cat(table(1, 1), Bytes{0}), false, "trailing"},
      {"mac_table_multicast_in_unicast", cat(cat(cat(Bytes{1, 0}, le32(1)), macs(1, 0x33)), le32(0)), false, "unicast table"},
      {"mac_table_unicast_in_multicast", cat(cat(Bytes{1, 0}, le32(0)), cat(le32(1), macs(1, 0x52))), false, "multicast table"},
      {"mac_addr_set", cat(Bytes{1, 1}, macs(1, 0x52)), true, ""},
      {"mac_addr_set_short", {1, 1, 0x52, 0x54, 0, 0, 0}, false, "fewer than 6"},
      {"mac_addr_set_trailing", cat(cat(Bytes{1, 1}, macs(1, 0x52)), Bytes{0}), false, "trailing"},
      {"mac_addr_set_multicast", cat(Bytes{1, 1}, macs(1, 0x01)), false, "not a unicast"},
      {"mac_addr_set_zero", {1, 1, 0, 0, 0, 0, 0, 0}, false, "not a unicast"},
      {"mac_unknown_command", {1, 2}, false, "unknown MAC"},
      {"vlan_not_offered", {2, 0, 1, 0}, false, "VLAN"},
      {"announce_ack", {3, 0}, true, ""},
      {"announce_trailing", {3, 0, 0}, false, "trailing"},
      {"announce_unknown", {3, 1}, false, "unknown ANNOUNCE"},
      {"pairs_1", {4, 0, 1, 0}, true, ""},
      {"pairs_max", {4, 0, kMaxPairs, 0}, true, ""},
      {"pairs_0", {4, 0, 0, 0}, false, "0 pairs"},
      {"pairs_max_plus_1", {4, 0, kMaxPairs + 1, 0}, false, "5 pairs"},
      {"pairs_0x8000", {4, 0, 0, 0x80}, false, "pairs"},
      {"pairs_short", {4, 0, 1}, false, "fewer than 2"},
      {"pairs_trailing", {4, 0, 1, 0, 0}, false, "trailing"},
      {"mq_rss_not_offered", {4, 1, 0, 0}, false, "unknown MQ"},
      {"offloads_csum_tso4", {5, 0, 0x82, 0, 0, 0, 0, 0, 0, 0}, true, ""},
      {"offloads_zero", {5, 0, 0, 0, 0, 0, 0, 0, 0, 0}, true, ""},
      {"offloads_host_bit", {5, 0, 0, 0x08, 0, 0, 0, 0, 0, 0}, false, "GUEST_*"},
      {"offloads_high_bit", {5, 0, 0, 0, 0, 0, 0, 0, 0, 0x80}, false, "GUEST_*"},
      {"offloads_short", {5, 0, 0x82, 0, 0, 0, 0, 0, 0}, false, "fewer than 8"},
      {"offloads_unknown_command", {5, 1}, false, "unknown GUEST_OFFLOADS"},
      {"unknown_class", {6, 0}, false, "unknown class"},
      {"class_255", {255, 255}, false, "unknown class"},
  };
  for (const CommandCase& c : cases) {
    auto r = parse_control_command(c.readable, kMaxPairs);
    ASSERT_EQ(r.ok(), c.ok) << c.name << (r.ok() ? "" : ": " + r.error().message());
    if (!r.ok()) {
      EXPECT_NE(r.error().message().find(c.error_part), std::string::npos)
          << c.name << ": " << r.error().message();
    }
  }
}

TEST(ControlCommandTest, ParsedValues) {
  auto rx = parse_control_command(Bytes{0, kCtrlRxAllMulti, 1}, 1);
  ASSERT_TRUE(rx.ok());
  const auto& mode = std::get<RxMode>(*rx);
  EXPECT_EQ(mode.cmd, kCtrlRxAllMulti);
  EXPECT_TRUE(mode.on);
  EXPECT_EQ(required_feature(*rx), kNetFCtrlRx);
  auto nobcast = parse_control_command(Bytes{0, kCtrlRxNoBcast, 0}, 1);
  ASSERT_TRUE(nobcast.ok());
  EXPECT_EQ(required_feature(*nobcast), kNetFCtrlRxExtra);

  auto t = parse_control_command(table(2, 3), 1);
  ASSERT_TRUE(t.ok());
  const auto& mt = std::get<MacTable>(*t);
  ASSERT_EQ(mt.unicast.size(), 2u);
  ASSERT_EQ(mt.multicast.size(), 3u);
  EXPECT_EQ(mt.unicast[1].to_string(), "52:54:00:00:00:01");
  EXPECT_EQ(mt.multicast[2].to_string(), "33:54:00:00:00:02");
  EXPECT_EQ(required_feature(*t), kNetFCtrlRx);

  auto set = parse_control_command(Bytes{1, 1, 0x52, 0x54, 0, 0x12, 0x34, 0x56}, 1);
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(std::get<MacAddrSet>(*set).mac.to_string(), "52:54:00:12:34:56");
  EXPECT_EQ(required_feature(*set), kNetFCtrlMacAddr);

  auto pairs = parse_control_command(Bytes{4, 0, 0x03, 0x01}, 0x0400);
  ASSERT_TRUE(pairs.ok());
  EXPECT_EQ(std::get<QueuePairsSet>(*pairs).pairs, 0x0103);
  EXPECT_EQ(required_feature(*pairs), kNetFMq);

  auto ack = parse_control_command(Bytes{3, 0}, 1);
  ASSERT_TRUE(ack.ok());
  EXPECT_TRUE(std::holds_alternative<AnnounceAck>(*ack));
  EXPECT_EQ(required_feature(*ack), kNetFGuestAnnounce);

  auto off = parse_control_command(Bytes{5, 0, 0x82, 0x01, 0, 0, 0, 0, 0, 0}, 1);
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(std::get<GuestOffloadsSet>(*off).offloads,
            feature_bit(kNetFGuestCsum) | feature_bit(kNetFGuestTso4) | feature_bit(kNetFGuestTso6));
  EXPECT_EQ(required_feature(*off), kNetFCtrlGuestOffloads);
}

// A device that offers no multiqueue (max 1 pair) takes only 1; max 0 takes nothing.
TEST(ControlCommandTest, PairsBoundedByOffer) {
  EXPECT_TRUE(parse_control_command(Bytes{4, 0, 1, 0}, 1).ok());
  EXPECT_FALSE(parse_control_command(Bytes{4, 0, 2, 0}, 1).ok());
  EXPECT_FALSE(parse_control_command(Bytes{4, 0, 1, 0}, 0).ok());
  EXPECT_TRUE(parse_control_command(Bytes{4, 0, 0xff, 0xff}, 0xffff).ok());
}

TEST(ControlCommandTest, EveryTruncationOfAFullTableRefused) {
  const Bytes full = table(64, 64);
  EXPECT_EQ(full.size(), kMaxControlCommandSize);
  for (size_t n = 0; n < full.size(); ++n)
    EXPECT_FALSE(parse_control_command(std::span<const uint8_t>(full.data(), n), 1).ok()) << n;
}

}  // namespace
}  // namespace bulwark::net
