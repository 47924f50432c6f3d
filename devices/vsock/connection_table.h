// The device's connections, keyed by (local port, peer port), with the operator's ceiling on
// how many one VM may hold. Routes each parsed guest (tenant) packet: to its connection, or
// as a new REQUEST, or refused with a stand-alone RST (unknown connection, table full), and
// counts what the guest did wrong. Pure: the device owns the host sockets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>

#include "bulwark/common/result.h"
#include "devices/vsock/connection.h"
#include "devices/vsock/packet.h"

namespace bulwark::vsock {

struct TableLimits {
  size_t max_connections = 1024;  // operator ceiling per VM
  uint32_t buf_alloc = 256 * 1024;  // our receive buffer per connection (guest-to-host bytes held)
  size_t max_pending_rsts = 256;  // stand-alone RSTs queued before further ones are dropped
};

// What the guest did, for the device's metrics and rate-limited log.
struct TableCounters {
  uint64_t cap_refusals = 0;         // REQUEST while at max_connections
  uint64_t protocol_errors = 0;      // ops out of order, for the state
  uint64_t credit_overruns = 0;      // RW beyond our buf_alloc
  uint64_t credit_lies = 0;          // fwd_cnt backwards / ahead of what we sent
  uint64_t unknown_connection = 0;   // a non-REQUEST packet for no connection
  uint64_t rsts_dropped = 0;         // stand-alone RSTs beyond max_pending_rsts
};

enum class Route : uint8_t {
  kConnection,         // handled by the connection `key`; see `result`
  kNewRequest,         // a REQUEST for a free key: connect to the host listener, then
                       // accept_request or refuse_request
  kRefusedCap,         // REQUEST at the ceiling: RST queued
  kUnknownConnection,  // no such connection: RST queued (none for an RST)
};

struct RouteResult {
  Route route = Route::kConnection;
  ConnectionKey key;
  GuestResult result;
};

class ConnectionTable {
 public:
  ConnectionTable(uint64_t guest_cid, TableLimits limits);

  // A packet that passed parse_guest_packet. Connections that end here (guest RST) are
  // dropped before this returns; ones reset by us stay until their RST is taken.
  RouteResult on_guest_packet(const Header& header);
  // After kNewRequest: the host listener accepted; the connection now owes a RESPONSE.
  // nullptr (and an RST queued) if the key is taken meanwhile or the table is full.
  Connection* accept_request(const Header& request);
  // After kNewRequest: nobody listens on the host side; RST queued.
  void refuse_request(const Header& request);
  // A host client's CONNECT to guest port `guest_port`: a new connection from a free local
  // port in [2^30, 2^31) (as Firecracker picks them) owing a REQUEST; refused at the ceiling.
  Result<ConnectionKey> open_from_host(uint32_t guest_port);

  Connection* find(ConnectionKey key);
  std::map<ConnectionKey, Connection>& connections() { return connections_; }
  // A stand-alone RST (for packets that have no connection); nullopt when none.
  std::optional<Header> take_standalone_rst();
  // Drops connections that are closed with nothing left to send.
  void drop_finished();

  size_t size() const { return connections_.size(); }
  const TableCounters& counters() const { return counters_; }

 private:
  void queue_rst_for(const Header& from_guest);
  void count(GuestVerdict verdict);

  uint64_t guest_cid_;
  TableLimits limits_;
  std::map<ConnectionKey, Connection> connections_;
  std::deque<Header> standalone_rsts_;
  uint32_t next_local_port_ = 0;
  TableCounters counters_;
};

}  // namespace bulwark::vsock
