#include "devices/vsock/connection.h"

#include <algorithm>

namespace bulwark::vsock {
namespace {

// Control packets a connection owes the guest, as bits of Connection::pending_.
constexpr uint32_t kPendRequest = 1u << 0;
constexpr uint32_t kPendResponse = 1u << 1;
constexpr uint32_t kPendCreditUpdate = 1u << 2;
constexpr uint32_t kPendCreditRequest = 1u << 3;
constexpr uint32_t kPendShutdown = 1u << 4;
constexpr uint32_t kPendRst = 1u << 5;

}  // namespace

const char* state_name(ConnState state) {
  switch (state) {
    case ConnState::kHostRequesting: return "host-requesting";
    case ConnState::kEstablished: return "established";
    case ConnState::kLocalClosing: return "local-closing";
    case ConnState::kClosed: return "closed";
  }
  return "?";
}

const char* verdict_name(GuestVerdict verdict) {
  switch (verdict) {
    case GuestVerdict::kOk: return "ok";
    case GuestVerdict::kProtocolError: return "protocol error";
    case GuestVerdict::kCreditOverrun: return "credit overrun";
    case GuestVerdict::kCreditLie: return "credit lie";
    case GuestVerdict::kPeerReset: return "peer reset";
  }
  return "?";
}

Connection::Connection(uint64_t guest_cid, ConnectionKey key, uint32_t buf_alloc,
                       ConnState state)
    : guest_cid_(guest_cid), key_(key), state_(state), buf_alloc_(buf_alloc) {}

Connection Connection::accept_guest_request(uint64_t guest_cid, const Header& request,
                                            uint32_t buf_alloc) {
  Connection c(guest_cid, ConnectionKey{request.dst_port, request.src_port}, buf_alloc,
               ConnState::kEstablished);
  // We have sent nothing, so any fwd_cnt but 0 claims bytes that never existed.
  if (request.fwd_cnt != 0) {
    c.reset();
    return c;
  }
  c.peer_buf_alloc_ = request.buf_alloc;
  c.queue(kPendResponse);
  return c;
}

Connection Connection::open_from_host(uint64_t guest_cid, ConnectionKey key,
                                      uint32_t buf_alloc) {
  Connection c(guest_cid, key, buf_alloc, ConnState::kHostRequesting);
  c.queue(kPendRequest);
  return c;
}

GuestResult Connection::fail(GuestVerdict verdict, std::string_view reason) {
  reset();
  return GuestResult{verdict, 0, reason};
}

// Takes the guest's credit fields, unless its fwd_cnt is a lie: it may only move forward, by
// at most the bytes we sent it has not acknowledged yet (modulo 2^32).
bool Connection::update_peer_credit(const Header& h) {
  const uint32_t advance = h.fwd_cnt - peer_fwd_cnt_;
  if (advance > unacked_to_guest()) return false;
  peer_fwd_cnt_ = h.fwd_cnt;
  peer_buf_alloc_ = h.buf_alloc;
  credit_requested_ = false;
  return true;
}

GuestResult Connection::on_guest_packet(const Header& h) {
  if (h.op == Op::kRst) {
    // Never answered: an RST for an RST would loop.
    state_ = ConnState::kClosed;
    pending_ = 0;
    return GuestResult{GuestVerdict::kPeerReset, 0, "guest sent RST"};
  }
  // Our RST may still be on its way: what the guest sent before it saw it is dropped, not
  // counted against it.
  if (state_ == ConnState::kClosed) return GuestResult{GuestVerdict::kOk, 0, "connection closed"};
  if (state_ == ConnState::kHostRequesting) {
    if (h.op != Op::kResponse)
      return fail(GuestVerdict::kProtocolError, "op other than RESPONSE to our REQUEST");
    if (!update_peer_credit(h)) return fail(GuestVerdict::kCreditLie, "fwd_cnt in RESPONSE");
    state_ = ConnState::kEstablished;
    return GuestResult{};
  }
  if (h.op == Op::kRequest)
    return fail(GuestVerdict::kProtocolError, "REQUEST on an open connection");
  if (h.op == Op::kResponse)
    return fail(GuestVerdict::kProtocolError, "RESPONSE without our REQUEST");
  if (!update_peer_credit(h))
    return fail(GuestVerdict::kCreditLie, "fwd_cnt backwards or ahead of the bytes sent");

  GuestResult result;
  switch (h.op) {
    case Op::kShutdown:
      peer_shutdown_ |= h.flags;
      maybe_finish_close();
      break;
    case Op::kRw: {
      if ((peer_shutdown_ & kShutdownSend) != 0)
        return fail(GuestVerdict::kProtocolError, "RW after the guest's SHUTDOWN(SEND)");
      const uint32_t room = buf_alloc_ - buffered_from_guest();
      if (h.len > room) return fail(GuestVerdict::kCreditOverrun, "RW beyond our buf_alloc");
      rx_cnt_ += h.len;
      if ((local_shutdown_ & kShutdownRcv) != 0) {
        // We said we receive no more (the host side is gone); bytes the guest sent before
        // it saw that are dropped and count as consumed, so its credit does not shrink.
        fwd_cnt_ += h.len;
      } else {
        result.forward_bytes = h.len;
      }
      break;
    }
    case Op::kCreditUpdate:
      break;  // the credit fields were taken above
    case Op::kCreditRequest:
      queue(kPendCreditUpdate);
      break;
    default:
      break;  // REQUEST / RESPONSE / RST handled above; parse_guest_packet allows no others
  }
  return result;
}

// Both directions shut by the guest and its bytes delivered: we end it with RST (5.10.6.6).
void Connection::maybe_finish_close() {
  if (state_ == ConnState::kClosed) return;
  if (peer_shutdown_ == kShutdownBoth && buffered_from_guest() == 0) reset();
}

void Connection::on_host_consumed(uint32_t n) {
  n = std::min(n, buffered_from_guest());
  fwd_cnt_ += n;
  // Tell the guest once it has half a buffer more than it knows of; below that it still has
  // at least half our buffer as credit, so it never waits on an update we hold back.
  if (state_ == ConnState::kEstablished && fwd_cnt_ - advertised_fwd_cnt_ >= buf_alloc_ / 2 &&
      fwd_cnt_ != advertised_fwd_cnt_)
    queue(kPendCreditUpdate);
  maybe_finish_close();
}

uint32_t Connection::send_credit() const {
  if (state_ != ConnState::kEstablished) return 0;
  if ((local_shutdown_ & kShutdownSend) != 0 || (peer_shutdown_ & kShutdownRcv) != 0) return 0;
  const uint32_t in_flight = unacked_to_guest();
  return in_flight >= peer_buf_alloc_ ? 0 : peer_buf_alloc_ - in_flight;
}

Header Connection::take_rw_header(uint32_t n) {
  n = std::min({n, send_credit(), kMaxPayload});
  Header h = header_for(Op::kRw);
  h.len = n;
  tx_cnt_ += n;
  return h;
}

void Connection::on_host_eof() {
  if (state_ != ConnState::kEstablished || (local_shutdown_ & kShutdownSend) != 0) return;
  local_shutdown_ |= kShutdownSend;
  queue(kPendShutdown);
}

void Connection::on_host_gone() {
  if (state_ == ConnState::kHostRequesting) return reset();
  if (state_ != ConnState::kEstablished) return;
  // Nothing more can reach the host: what the guest sent and we still hold is dropped.
  fwd_cnt_ = rx_cnt_;
  local_shutdown_ = kShutdownBoth;
  state_ = ConnState::kLocalClosing;
  pending_ &= ~(kPendCreditRequest);
  queue(kPendShutdown);
}

void Connection::reset() {
  if (state_ == ConnState::kClosed) return;
  state_ = ConnState::kClosed;
  pending_ = kPendRst;
}

void Connection::want_credit() {
  if (state_ != ConnState::kEstablished || credit_requested_ || send_credit() != 0) return;
  if ((local_shutdown_ & kShutdownSend) != 0 || (peer_shutdown_ & kShutdownRcv) != 0) return;
  credit_requested_ = true;
  queue(kPendCreditRequest);
}

Header Connection::header_for(Op op) {
  Header h;
  h.src_cid = kHostCid;
  h.dst_cid = guest_cid_;
  h.src_port = key_.local_port;
  h.dst_port = key_.peer_port;
  h.type = kTypeStream;
  h.op = op;
  h.buf_alloc = buf_alloc_;
  h.fwd_cnt = fwd_cnt_;
  advertised_fwd_cnt_ = fwd_cnt_;
  return h;
}

std::optional<Header> Connection::take_control_packet() {
  if ((pending_ & kPendRst) != 0) {
    pending_ = 0;
    return header_for(Op::kRst);
  }
  static constexpr struct {
    uint32_t bit;
    Op op;
  } kOrder[] = {{kPendRequest, Op::kRequest},
                {kPendResponse, Op::kResponse},
                {kPendCreditUpdate, Op::kCreditUpdate},
                {kPendCreditRequest, Op::kCreditRequest},
                {kPendShutdown, Op::kShutdown}};
  for (const auto& entry : kOrder) {
    if ((pending_ & entry.bit) == 0) continue;
    pending_ &= ~entry.bit;
    Header h = header_for(entry.op);
    if (entry.op == Op::kShutdown) h.flags = local_shutdown_;
    return h;
  }
  return std::nullopt;
}

}  // namespace bulwark::vsock
