// The connection table: the operator's ceiling on connections (one more REQUEST or CONNECT is
// refused), packets for connections that do not exist, and guest resets dropping entries.
#include "devices/vsock/connection_table.h"

#include <gtest/gtest.h>

#include <set>

#include "guest_packets.h"

namespace bulwark::vsock {
namespace {

using testing::guest_header;
using testing::kGuestCid;

Header request_from(uint32_t guest_port, uint32_t host_port) {
  Header h = guest_header(Op::kRequest);
  h.src_port = guest_port;
  h.dst_port = host_port;
  return h;
}

TEST(VsockConnectionTableTest, CeilingRefusesOneMoreRequest) {
  ConnectionTable table(kGuestCid, TableLimits{.max_connections = 3, .buf_alloc = 4096});
  for (uint32_t port = 1; port <= 3; ++port) {
    const Header req = request_from(1000 + port, 52);
    ASSERT_EQ(table.on_guest_packet(req).route, Route::kNewRequest);
    ASSERT_NE(table.accept_request(req), nullptr);
  }
  EXPECT_EQ(table.size(), 3u);
  const Header fourth = request_from(2000, 52);
  EXPECT_EQ(table.on_guest_packet(fourth).route, Route::kRefusedCap);
  EXPECT_EQ(table.counters().cap_refusals, 1u);
  auto rst = table.take_standalone_rst();
  ASSERT_TRUE(rst.has_value());
  EXPECT_EQ(rst->op, Op::kRst);
  EXPECT_EQ(rst->src_cid, kHostCid);
  EXPECT_EQ(rst->dst_cid, kGuestCid);
  EXPECT_EQ(rst->src_port, 52u);
  EXPECT_EQ(rst->dst_port, 2000u);
  // The host side is capped by the same ceiling.
  auto host = table.open_from_host(7);
  ASSERT_FALSE(host.ok());
  EXPECT_NE(host.error().message().find("connection limit of 3"), std::string::npos);

  // A guest RST frees a slot.
  Header bye = guest_header(Op::kRst);
  bye.src_port = 1001;
  EXPECT_EQ(table.on_guest_packet(bye).result.verdict, GuestVerdict::kPeerReset);
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.on_guest_packet(fourth).route, Route::kNewRequest);
}

TEST(VsockConnectionTableTest, HostConnectionsGetDistinctLocalPorts) {
  ConnectionTable table(kGuestCid, TableLimits{.max_connections = 100});
  std::set<uint32_t> ports;
  for (int i = 0; i < 100; ++i) {
    auto key = table.open_from_host(52);
    ASSERT_TRUE(key.ok());
    EXPECT_GE(key->local_port, 1u << 30);
    EXPECT_LT(key->local_port, 1u << 31);
    EXPECT_EQ(key->peer_port, 52u);
    ports.insert(key->local_port);
    auto request = table.find(*key)->take_control_packet();
    ASSERT_TRUE(request.has_value());
    EXPECT_EQ(request->op, Op::kRequest);
  }
  EXPECT_EQ(ports.size(), 100u);
  EXPECT_FALSE(table.open_from_host(52).ok());
}

TEST(VsockConnectionTableTest, PacketsForUnknownConnectionsGetRst) {
  ConnectionTable table(kGuestCid, TableLimits{.max_pending_rsts = 2});
  EXPECT_EQ(table.on_guest_packet(guest_header(Op::kRw)).route, Route::kUnknownConnection);
  EXPECT_EQ(table.on_guest_packet(guest_header(Op::kCreditRequest)).route,
            Route::kUnknownConnection);
  // No RST for an RST; a flood beyond the queue is dropped and counted.
  EXPECT_EQ(table.on_guest_packet(guest_header(Op::kRst)).route, Route::kUnknownConnection);
  EXPECT_EQ(table.on_guest_packet(guest_header(Op::kShutdown, 0, 1)).route,
            Route::kUnknownConnection);
  EXPECT_EQ(table.counters().unknown_connection, 3u);
  EXPECT_EQ(table.counters().rsts_dropped, 1u);
  EXPECT_TRUE(table.take_standalone_rst().has_value());
  EXPECT_TRUE(table.take_standalone_rst().has_value());
  EXPECT_FALSE(table.take_standalone_rst().has_value());
}

TEST(VsockConnectionTableTest, ProtocolErrorsAreCountedAndConnectionDropped) {
  ConnectionTable table(kGuestCid, TableLimits{.buf_alloc = 100});
  const Header req = request_from(1234, 52);
  ASSERT_EQ(table.on_guest_packet(req).route, Route::kNewRequest);
  Connection* c = table.accept_request(req);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->take_control_packet()->op, Op::kResponse);
  // A second REQUEST for the same key resets the connection.
  RouteResult r = table.on_guest_packet(req);
  EXPECT_EQ(r.route, Route::kConnection);
  EXPECT_EQ(r.result.verdict, GuestVerdict::kProtocolError);
  EXPECT_EQ(table.counters().protocol_errors, 1u);
  EXPECT_EQ(table.find(r.key)->take_control_packet()->op, Op::kRst);
  table.drop_finished();
  EXPECT_EQ(table.size(), 0u);
  // A REQUEST claiming a fwd_cnt is a lie: refused with RST.
  Header liar = request_from(1, 52);
  liar.fwd_cnt = 5;
  EXPECT_EQ(table.accept_request(liar), nullptr);
  EXPECT_EQ(table.counters().credit_lies, 1u);
  EXPECT_EQ(table.take_standalone_rst()->dst_port, 1u);
  // Nobody listening on the host: RST.
  table.refuse_request(request_from(2, 53));
  auto rst = table.take_standalone_rst();
  ASSERT_TRUE(rst.has_value());
  EXPECT_EQ(rst->src_port, 53u);
  EXPECT_EQ(rst->dst_port, 2u);
}

}  // namespace
}  // namespace bulwark::vsock
