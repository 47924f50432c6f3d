// One vsock stream connection between the guest (tenant, the "peer") and a host unix-socket
// client (the "local" side, CID 2): its state machine (virtio 1.2, 5.10.6.4-5.10.6.6) and
// credit accounting in both directions. Pure: the device process owns the sockets and
// queues, feeds this what the guest sent and what the host socket did, and writes the packets
// it asks for. Everything the guest says here is checked; a protocol error resets only this
// connection.
//
// Credit. Guest to host: our buf_alloc caps the bytes the guest may have sent and we have not
// yet written to the host socket (rx_cnt - fwd_cnt); a guest that overruns it is reset. A
// host peer that stops reading stops fwd_cnt, so the guest's credit runs out and it waits.
// Host to guest: we send at most peer_buf_alloc - (tx_cnt - peer_fwd_cnt); a peer fwd_cnt
// that goes backwards or ahead of what we sent is a lie and resets the connection. All
// counters are the spec's free-running u32s, compared modulo 2^32.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string_view>

#include "devices/vsock/packet.h"

namespace bulwark::vsock {

// local_port: the host side's port (the guest's dst_port); peer_port: the guest's.
struct ConnectionKey {
  uint32_t local_port = 0, peer_port = 0;
  auto operator<=>(const ConnectionKey&) const = default;
};

enum class ConnState : uint8_t {
  kHostRequesting,  // a host client asked (CONNECT); our REQUEST is out, awaiting RESPONSE
  kEstablished,     // data both ways (each direction may be shut down, see flags)
  kLocalClosing,    // we sent SHUTDOWN(RCV|SEND); awaiting the guest's RST (or our timeout)
  kClosed,          // done; the table drops it once its pending packet (if any) is taken
};
const char* state_name(ConnState state);

// What a guest packet did to the connection, for the device and its counters.
enum class GuestVerdict : uint8_t {
  kOk,             // accepted (or ignored on a closed connection); for RW, forward_bytes
                   // of payload go to the host socket
  kProtocolError,  // op out of order or bad flags for the state: RST queued, connection closed
  kCreditOverrun,  // RW beyond our buf_alloc: RST queued, closed
  kCreditLie,      // fwd_cnt backwards or ahead of what we sent: RST queued, closed
  kPeerReset,      // the guest sent RST: closed, nothing sent back
};
const char* verdict_name(GuestVerdict verdict);

struct GuestResult {
  GuestVerdict verdict = GuestVerdict::kOk;
  uint32_t forward_bytes = 0;  // RW payload bytes the device must write to the host socket
  std::string_view reason;     // for a reset: what the guest did (static text)
};

class Connection {
 public:
  // A guest REQUEST the device accepted (it connected to the host listener): established,
  // RESPONSE pending. The request's credit fields are the guest's initial credit.
  static Connection accept_guest_request(uint64_t guest_cid, const Header& request,
                                         uint32_t buf_alloc);
  // A host client's CONNECT to guest port `peer_port` from our `local_port`: REQUEST pending.
  static Connection open_from_host(uint64_t guest_cid, ConnectionKey key, uint32_t buf_alloc);

  // A parsed guest packet (parse_guest_packet) whose ports match this connection's key.
  GuestResult on_guest_packet(const Header& header);

  // The device wrote n bytes of guest data to the host socket (n <= buffered_from_guest()).
  void on_host_consumed(uint32_t n);
  // Bytes the device may read from the host socket and send to the guest now.
  uint32_t send_credit() const;
  // The RW header for n bytes read from the host; n is clamped to send_credit() and
  // kMaxPayload (its len says how many to send; 0 means none: send nothing).
  Header take_rw_header(uint32_t n);
  // The host client half-closed (EOF on read): SHUTDOWN(SEND) to the guest.
  void on_host_eof();
  // The host client is gone (hang-up, write error): SHUTDOWN(RCV|SEND), then await RST.
  void on_host_gone();
  // The device gives up on the connection (close timeout, host connect failed, device
  // shutdown): RST to the guest, closed.
  void reset();
  // The device has host data waiting and send_credit() is 0: asks once for a CREDIT_UPDATE.
  void want_credit();

  // The next control packet to put on the rx queue (RESPONSE, REQUEST, RST, SHUTDOWN,
  // CREDIT_UPDATE, CREDIT_REQUEST), stamped with our current credit; nullopt when none.
  std::optional<Header> take_control_packet();
  bool has_control_packet() const { return pending_ != 0; }

  ConnState state() const { return state_; }
  ConnectionKey key() const { return key_; }
  // Guest bytes received but not yet written to the host socket (<= our buf_alloc).
  uint32_t buffered_from_guest() const { return rx_cnt_ - fwd_cnt_; }
  // Host bytes sent to the guest it has not acknowledged in fwd_cnt (<= its buf_alloc when
  // we sent them).
  uint32_t unacked_to_guest() const { return tx_cnt_ - peer_fwd_cnt_; }
  uint32_t peer_shutdown() const { return peer_shutdown_; }
  uint32_t local_shutdown() const { return local_shutdown_; }
  // The guest will send no more and all it sent reached the host: shut the host socket's
  // write side.
  bool host_write_done() const {
    return (peer_shutdown_ & kShutdownSend) != 0 && buffered_from_guest() == 0;
  }
  // Closed and nothing left to send: the table may drop it.
  bool finished() const { return state_ == ConnState::kClosed && pending_ == 0; }

 private:
  Connection(uint64_t guest_cid, ConnectionKey key, uint32_t buf_alloc, ConnState state);
  GuestResult fail(GuestVerdict verdict, std::string_view reason);
  bool update_peer_credit(const Header& header);
  void maybe_finish_close();
  void queue(uint32_t bit) { pending_ |= bit; }
  Header header_for(Op op);  // stamps our credit, records what the guest was told

  uint64_t guest_cid_;
  ConnectionKey key_;
  ConnState state_;
  uint32_t buf_alloc_;        // ours, advertised in every packet
  uint32_t rx_cnt_ = 0;       // guest bytes received
  uint32_t fwd_cnt_ = 0;      // guest bytes written to the host socket
  uint32_t advertised_fwd_cnt_ = 0;  // fwd_cnt in the last packet the guest got from us
  uint32_t tx_cnt_ = 0;       // host bytes sent to the guest
  uint32_t peer_buf_alloc_ = 0, peer_fwd_cnt_ = 0;
  uint32_t peer_shutdown_ = 0, local_shutdown_ = 0;
  bool credit_requested_ = false;
  uint32_t pending_ = 0;  // bit set of control packets to send
};

}  // namespace bulwark::vsock
