// Counters of what bulwark-dev-vsock refused or gave up on, from the guest (tenant) and from
// host clients of the VM's vsock socket, and their log lines. Either side can cause an event
// per packet or per connection, so each kind logs its 1st, 2nd, 4th, 8th, ... occurrence
// only: a flood costs a few dozen lines, never one per packet.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace bulwark::vsock {

enum class VsockEvent : uint8_t {
  // The guest's tx queue.
  kTxMalformed,        // parse_guest_packet refused the packet (dropped)
  kTxOversize,         // a chain longer than a header and kMaxPayload (dropped)
  kGuestProtocolError, // op out of order for the connection: reset
  kGuestCreditOverrun, // RW beyond our buf_alloc: reset
  kGuestCreditLie,     // fwd_cnt backwards or ahead of what we sent: reset
  kGuestCapRefused,    // REQUEST at the connection ceiling: RST
  kGuestUnknownConnection,  // a packet for no connection: RST
  kGuestConnectRefused,     // REQUEST to a host port nobody listens on: RST
  kRxBufferTooSmall,   // an rx buffer too small for the packet due: returned empty
  // Host clients of <uds_path>.
  kHostCapRefused,     // a client beyond the connection ceiling: closed
  kHostBadConnect,     // garbage instead of "CONNECT <port>\n": closed
  kHostConnectTimeout, // the CONNECT line (or the guest's answer) did not come in time: closed
  kHostIoError,        // a host socket failed (reset, broken pipe): connection shut down
  kCloseTimeout,       // the guest never answered our SHUTDOWN with RST: reset
  // The device's own.
  kTransportReset,     // this process replaced a dead one: TRANSPORT_RESET to the guest
  kCount,
};

const char* vsock_event_name(VsockEvent event);

class EventLog {
 public:
  // Counts one event; `detail` is logged with it when this is a logged occurrence.
  void record(VsockEvent event, std::string_view detail = {});
  uint64_t count(VsockEvent event) const;
  // "tx_malformed=3 host_bad_connect=1", or "none".
  std::string summary() const;

 private:
  std::array<uint64_t, static_cast<size_t>(VsockEvent::kCount)> counts_{};
};

}  // namespace bulwark::vsock
