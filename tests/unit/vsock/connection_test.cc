// The connection state machine and credit from the guest's side: a full exchange both ways,
// ops out of order, a guest overrunning our buffer, fwd_cnt lies, and a host peer that stops
// reading (the guest's credit runs out; nothing is lost).
#include "devices/vsock/connection.h"

#include <gtest/gtest.h>

#include "guest_packets.h"

namespace bulwark::vsock {
namespace {

using testing::guest_header;
using testing::kGuestCid;

constexpr uint32_t kOurBuf = 4096;

// A guest-initiated connection after its REQUEST, with its RESPONSE taken.
Connection established_from_guest(uint32_t guest_buf_alloc = 64 * 1024) {
  Header request = guest_header(Op::kRequest);
  request.buf_alloc = guest_buf_alloc;
  Connection c = Connection::accept_guest_request(kGuestCid, request, kOurBuf);
  auto response = c.take_control_packet();
  EXPECT_TRUE(response.has_value());
  return c;
}

Header guest_rw(uint32_t len, uint32_t fwd_cnt = 0) {
  Header h = guest_header(Op::kRw, len);
  h.fwd_cnt = fwd_cnt;
  return h;
}

TEST(VsockConnectionTest, GuestInitiatedHandshakeDataAndCleanClose) {
  Header request = guest_header(Op::kRequest);
  Connection c = Connection::accept_guest_request(kGuestCid, request, kOurBuf);
  EXPECT_EQ(c.state(), ConnState::kEstablished);
  auto response = c.take_control_packet();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->op, Op::kResponse);
  EXPECT_EQ(response->src_cid, kHostCid);
  EXPECT_EQ(response->dst_cid, kGuestCid);
  EXPECT_EQ(response->src_port, 52u);
  EXPECT_EQ(response->dst_port, 1234u);
  EXPECT_EQ(response->buf_alloc, kOurBuf);
  EXPECT_FALSE(c.take_control_packet().has_value());

  // Guest to host: 1000 bytes to forward.
  GuestResult r = c.on_guest_packet(guest_rw(1000));
  EXPECT_EQ(r.verdict, GuestVerdict::kOk);
  EXPECT_EQ(r.forward_bytes, 1000u);
  EXPECT_EQ(c.buffered_from_guest(), 1000u);
  c.on_host_consumed(1000);
  EXPECT_EQ(c.buffered_from_guest(), 0u);

  // Host to guest: bounded by the guest's 64 KiB buf_alloc.
  EXPECT_EQ(c.send_credit(), 64u * 1024);
  Header rw = c.take_rw_header(500);
  EXPECT_EQ(rw.op, Op::kRw);
  EXPECT_EQ(rw.len, 500u);
  EXPECT_EQ(rw.fwd_cnt, 1000u);  // every packet tells the guest what reached the host
  EXPECT_EQ(c.send_credit(), 64u * 1024 - 500);
  // The guest acknowledges in its next packet.
  Header update = guest_header(Op::kCreditUpdate);
  update.fwd_cnt = 500;
  EXPECT_EQ(c.on_guest_packet(update).verdict, GuestVerdict::kOk);
  EXPECT_EQ(c.send_credit(), 64u * 1024);

  // The guest shuts down its sending side: the host socket's write side follows.
  Header shut = guest_header(Op::kShutdown, 0, kShutdownSend);
  shut.fwd_cnt = 500;
  EXPECT_EQ(c.on_guest_packet(shut).verdict, GuestVerdict::kOk);
  EXPECT_TRUE(c.host_write_done());
  // Data after its SHUTDOWN(SEND) is a protocol error.
  Connection c2 = established_from_guest();
  EXPECT_EQ(c2.on_guest_packet(guest_header(Op::kShutdown, 0, kShutdownSend)).verdict,
            GuestVerdict::kOk);
  EXPECT_EQ(c2.on_guest_packet(guest_rw(1)).verdict, GuestVerdict::kProtocolError);
  EXPECT_EQ(c2.take_control_packet()->op, Op::kRst);

  // Both directions shut: we end it with RST.
  shut.flags = kShutdownRcv;
  EXPECT_EQ(c.on_guest_packet(shut).verdict, GuestVerdict::kOk);
  EXPECT_EQ(c.state(), ConnState::kClosed);
  auto rst = c.take_control_packet();
  ASSERT_TRUE(rst.has_value());
  EXPECT_EQ(rst->op, Op::kRst);
  EXPECT_TRUE(c.finished());
}

TEST(VsockConnectionTest, GuestShutdownWaitsForBufferedBytesBeforeRst) {
  Connection c = established_from_guest();
  EXPECT_EQ(c.on_guest_packet(guest_rw(100)).forward_bytes, 100u);
  EXPECT_EQ(c.on_guest_packet(guest_header(Op::kShutdown, 0, kShutdownBoth)).verdict,
            GuestVerdict::kOk);
  EXPECT_NE(c.state(), ConnState::kClosed);  // 100 bytes still owed to the host
  EXPECT_FALSE(c.host_write_done());
  c.on_host_consumed(100);
  EXPECT_EQ(c.state(), ConnState::kClosed);
  EXPECT_EQ(c.take_control_packet()->op, Op::kRst);
}

TEST(VsockConnectionTest, HostInitiatedHandshake) {
  Connection c = Connection::open_from_host(kGuestCid, ConnectionKey{1u << 30, 52}, kOurBuf);
  EXPECT_EQ(c.state(), ConnState::kHostRequesting);
  EXPECT_EQ(c.send_credit(), 0u);  // nothing flows before the guest answers
  auto request = c.take_control_packet();
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->op, Op::kRequest);
  EXPECT_EQ(request->src_port, 1u << 30);
  EXPECT_EQ(request->dst_port, 52u);

  Header response = guest_header(Op::kResponse);
  response.src_port = 52;
  response.dst_port = 1u << 30;
  response.buf_alloc = 8192;
  EXPECT_EQ(c.on_guest_packet(response).verdict, GuestVerdict::kOk);
  EXPECT_EQ(c.state(), ConnState::kEstablished);
  EXPECT_EQ(c.send_credit(), 8192u);
}

TEST(VsockConnectionTest, GuestRefusingHostRequestClosesWithoutReply) {
  Connection c = Connection::open_from_host(kGuestCid, ConnectionKey{1u << 30, 52}, kOurBuf);
  (void)c.take_control_packet();
  EXPECT_EQ(c.on_guest_packet(guest_header(Op::kRst)).verdict, GuestVerdict::kPeerReset);
  EXPECT_EQ(c.state(), ConnState::kClosed);
  EXPECT_FALSE(c.take_control_packet().has_value());  // never RST an RST
  EXPECT_TRUE(c.finished());
}

TEST(VsockConnectionTest, OpsOutOfOrderAreReset) {
  struct OutOfOrder {
    const char* name;
    bool host_requesting;
    Header packet;
  };
  const OutOfOrder cases[] = {
      {"rw_before_response", true, guest_rw(1)},
      {"shutdown_before_response", true, guest_header(Op::kShutdown, 0, kShutdownBoth)},
      {"credit_request_before_response", true, guest_header(Op::kCreditRequest)},
      {"request_instead_of_response", true, guest_header(Op::kRequest)},
      {"request_on_established", false, guest_header(Op::kRequest)},
      {"response_on_established", false, guest_header(Op::kResponse)},
  };
  for (const OutOfOrder& o : cases) {
    SCOPED_TRACE(o.name);
    Connection c = o.host_requesting
                       ? Connection::open_from_host(kGuestCid, ConnectionKey{52, 1234}, kOurBuf)
                       : established_from_guest();
    (void)c.take_control_packet();
    GuestResult r = c.on_guest_packet(o.packet);
    EXPECT_EQ(r.verdict, GuestVerdict::kProtocolError);
    EXPECT_FALSE(r.reason.empty());
    EXPECT_EQ(c.state(), ConnState::kClosed);
    auto rst = c.take_control_packet();
    ASSERT_TRUE(rst.has_value());
    EXPECT_EQ(rst->op, Op::kRst);
    EXPECT_TRUE(c.finished());
  }
}

TEST(VsockConnectionTest, GuestOverrunningOurBufferIsReset) {
  Connection c = established_from_guest();
  EXPECT_EQ(c.on_guest_packet(guest_rw(kOurBuf - 1)).verdict, GuestVerdict::kOk);
  EXPECT_EQ(c.on_guest_packet(guest_rw(1)).verdict, GuestVerdict::kOk);  // exactly full
  GuestResult r = c.on_guest_packet(guest_rw(1));
  EXPECT_EQ(r.verdict, GuestVerdict::kCreditOverrun);
  EXPECT_EQ(r.forward_bytes, 0u);
  EXPECT_EQ(c.take_control_packet()->op, Op::kRst);
}

TEST(VsockConnectionTest, HostPeerThatStopsReadingStopsTheGuestsCredit) {
  Connection c = established_from_guest();
  // The host socket takes nothing: the guest fills our buffer and gets no credit update.
  EXPECT_EQ(c.on_guest_packet(guest_rw(kOurBuf)).forward_bytes, kOurBuf);
  EXPECT_FALSE(c.has_control_packet());
  // It asks; our answer says the buffer is full (fwd_cnt still 0).
  EXPECT_EQ(c.on_guest_packet(guest_header(Op::kCreditRequest)).verdict, GuestVerdict::kOk);
  auto update = c.take_control_packet();
  ASSERT_TRUE(update.has_value());
  EXPECT_EQ(update->op, Op::kCreditUpdate);
  EXPECT_EQ(update->fwd_cnt, 0u);
  EXPECT_EQ(update->buf_alloc, kOurBuf);
  // A little consumed: not yet worth an update (the guest is not stuck on it forever: at
  // half a buffer we tell it).
  c.on_host_consumed(kOurBuf / 2 - 1);
  EXPECT_FALSE(c.has_control_packet());
  c.on_host_consumed(1);
  update = c.take_control_packet();
  ASSERT_TRUE(update.has_value());
  EXPECT_EQ(update->op, Op::kCreditUpdate);
  EXPECT_EQ(update->fwd_cnt, kOurBuf / 2);
  // The guest may now send exactly the half that was freed; nothing was lost.
  EXPECT_EQ(c.on_guest_packet(guest_rw(kOurBuf / 2)).verdict, GuestVerdict::kOk);
  EXPECT_EQ(c.buffered_from_guest(), kOurBuf);
  EXPECT_EQ(c.on_guest_packet(guest_rw(1)).verdict, GuestVerdict::kCreditOverrun);
}

TEST(VsockConnectionTest, GuestThatStopsReadingStopsOurSending) {
  Connection c = established_from_guest(1000);
  EXPECT_EQ(c.take_rw_header(5000).len, 1000u);  // clamped to its credit
  EXPECT_EQ(c.send_credit(), 0u);
  c.want_credit();
  EXPECT_EQ(c.take_control_packet()->op, Op::kCreditRequest);
  c.want_credit();  // once until the guest answers
  EXPECT_FALSE(c.has_control_packet());
  Header update = guest_header(Op::kCreditUpdate);
  update.buf_alloc = 1000;
  update.fwd_cnt = 400;
  EXPECT_EQ(c.on_guest_packet(update).verdict, GuestVerdict::kOk);
  EXPECT_EQ(c.send_credit(), 400u);
  // A guest shrinking its buffer below what is in flight gets no credit, not a wrap-around.
  update.buf_alloc = 100;
  EXPECT_EQ(c.on_guest_packet(update).verdict, GuestVerdict::kOk);
  EXPECT_EQ(c.send_credit(), 0u);
}

TEST(VsockConnectionTest, FwdCntLiesAreReset) {
  {
    SCOPED_TRACE("ahead of what we sent");
    Connection c = established_from_guest();
    (void)c.take_rw_header(100);
    Header lie = guest_header(Op::kCreditUpdate);
    lie.fwd_cnt = 101;
    GuestResult r = c.on_guest_packet(lie);
    EXPECT_EQ(r.verdict, GuestVerdict::kCreditLie);
    EXPECT_EQ(c.take_control_packet()->op, Op::kRst);
  }
  {
    SCOPED_TRACE("backwards");
    Connection c = established_from_guest();
    (void)c.take_rw_header(100);
    Header ack = guest_header(Op::kCreditUpdate);
    ack.fwd_cnt = 60;
    EXPECT_EQ(c.on_guest_packet(ack).verdict, GuestVerdict::kOk);
    ack.fwd_cnt = 59;
    EXPECT_EQ(c.on_guest_packet(ack).verdict, GuestVerdict::kCreditLie);
  }
  {
    SCOPED_TRACE("nothing sent, huge fwd_cnt (would wrap peer_free)");
    Connection c = established_from_guest();
    Header lie = guest_rw(1, 0xffffffff);
    EXPECT_EQ(c.on_guest_packet(lie).verdict, GuestVerdict::kCreditLie);
  }
  {
    SCOPED_TRACE("in RESPONSE to our REQUEST");
    Connection c = Connection::open_from_host(kGuestCid, ConnectionKey{52, 1234}, kOurBuf);
    (void)c.take_control_packet();
    Header response = guest_header(Op::kResponse);
    response.fwd_cnt = 1;
    EXPECT_EQ(c.on_guest_packet(response).verdict, GuestVerdict::kCreditLie);
  }
}

TEST(VsockConnectionTest, CountersWrapModulo32Bits) {
  // Near the u32 wrap, a correct fwd_cnt is still accepted and credit stays exact.
  Connection c = established_from_guest(0xffffffff);
  uint32_t acked = 0;
  for (int i = 0; i < 70000; ++i) {  // 70000 x 64 KiB > 2^32: tx_cnt wraps
    Header rw = c.take_rw_header(kMaxPayload);
    ASSERT_EQ(rw.len, kMaxPayload);
    acked += kMaxPayload;
    Header ack = guest_header(Op::kCreditUpdate);
    ack.buf_alloc = 0xffffffff;
    ack.fwd_cnt = acked;
    ASSERT_EQ(c.on_guest_packet(ack).verdict, GuestVerdict::kOk);
  }
  EXPECT_EQ(c.unacked_to_guest(), 0u);
  EXPECT_EQ(c.send_credit(), 0xffffffffu);
}

TEST(VsockConnectionTest, HostSideClosing) {
  {
    SCOPED_TRACE("host EOF: SHUTDOWN(SEND), guest may still send");
    Connection c = established_from_guest();
    c.on_host_eof();
    auto shut = c.take_control_packet();
    ASSERT_TRUE(shut.has_value());
    EXPECT_EQ(shut->op, Op::kShutdown);
    EXPECT_EQ(shut->flags, kShutdownSend);
    EXPECT_EQ(c.send_credit(), 0u);
    EXPECT_EQ(c.on_guest_packet(guest_rw(10)).forward_bytes, 10u);
  }
  {
    SCOPED_TRACE("host gone: SHUTDOWN(RCV|SEND), data dropped, guest RST ends it");
    Connection c = established_from_guest();
    EXPECT_EQ(c.on_guest_packet(guest_rw(10)).forward_bytes, 10u);
    c.on_host_gone();
    EXPECT_EQ(c.state(), ConnState::kLocalClosing);
    EXPECT_EQ(c.buffered_from_guest(), 0u);
    EXPECT_EQ(c.take_control_packet()->flags, kShutdownBoth);
    GuestResult late = c.on_guest_packet(guest_rw(10));
    EXPECT_EQ(late.verdict, GuestVerdict::kOk);
    EXPECT_EQ(late.forward_bytes, 0u);  // nowhere to go
    EXPECT_EQ(c.on_guest_packet(guest_header(Op::kRst)).verdict, GuestVerdict::kPeerReset);
    EXPECT_TRUE(c.finished());
  }
  {
    SCOPED_TRACE("device gives up: RST");
    Connection c = established_from_guest();
    c.on_host_gone();
    (void)c.take_control_packet();
    c.reset();
    EXPECT_EQ(c.take_control_packet()->op, Op::kRst);
    EXPECT_TRUE(c.finished());
  }
}

TEST(VsockConnectionTest, PacketsRacingOurRstAreDroppedNotCounted) {
  Connection c = established_from_guest();
  c.reset();
  GuestResult r = c.on_guest_packet(guest_rw(10));
  EXPECT_EQ(r.verdict, GuestVerdict::kOk);
  EXPECT_EQ(r.forward_bytes, 0u);
  EXPECT_EQ(c.buffered_from_guest(), 0u);
  EXPECT_EQ(c.take_control_packet()->op, Op::kRst);  // still owed, once
  EXPECT_FALSE(c.take_control_packet().has_value());
}

}  // namespace
}  // namespace bulwark::vsock
