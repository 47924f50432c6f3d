#include "devices/vsock/connection_table.h"

#include <string>

namespace bulwark::vsock {
namespace {

constexpr uint32_t kHostPortBase = 1u << 30;  // host-initiated local ports: [2^30, 2^31)
constexpr uint32_t kHostPortMask = kHostPortBase - 1;

ConnectionKey key_of(const Header& from_guest) {
  return ConnectionKey{from_guest.dst_port, from_guest.src_port};
}

}  // namespace

ConnectionTable::ConnectionTable(uint64_t guest_cid, TableLimits limits)
    : guest_cid_(guest_cid), limits_(limits) {}

void ConnectionTable::queue_rst_for(const Header& g) {
  if (standalone_rsts_.size() >= limits_.max_pending_rsts) {
    ++counters_.rsts_dropped;
    return;
  }
  Header h;
  h.src_cid = kHostCid;
  h.dst_cid = guest_cid_;
  h.src_port = g.dst_port;
  h.dst_port = g.src_port;
  h.op = Op::kRst;
  standalone_rsts_.push_back(h);
}

void ConnectionTable::count(GuestVerdict verdict) {
  switch (verdict) {
    case GuestVerdict::kProtocolError: ++counters_.protocol_errors; break;
    case GuestVerdict::kCreditOverrun: ++counters_.credit_overruns; break;
    case GuestVerdict::kCreditLie: ++counters_.credit_lies; break;
    case GuestVerdict::kOk:
    case GuestVerdict::kPeerReset: break;
  }
}

RouteResult ConnectionTable::on_guest_packet(const Header& h) {
  const ConnectionKey key = key_of(h);
  RouteResult out;
  out.key = key;
  auto it = connections_.find(key);
  if (it == connections_.end()) {
    if (h.op == Op::kRequest) {
      if (connections_.size() >= limits_.max_connections) {
        ++counters_.cap_refusals;
        queue_rst_for(h);
        out.route = Route::kRefusedCap;
        return out;
      }
      out.route = Route::kNewRequest;
      return out;
    }
    out.route = Route::kUnknownConnection;
    if (h.op != Op::kRst) {
      ++counters_.unknown_connection;
      queue_rst_for(h);
    }
    return out;
  }
  out.result = it->second.on_guest_packet(h);
  count(out.result.verdict);
  if (it->second.finished()) connections_.erase(it);
  return out;
}

Connection* ConnectionTable::accept_request(const Header& request) {
  const ConnectionKey key = key_of(request);
  if (request.op != Op::kRequest || connections_.count(key) != 0 ||
      connections_.size() >= limits_.max_connections) {
    queue_rst_for(request);
    return nullptr;
  }
  if (request.fwd_cnt != 0) {  // we sent nothing yet: any other fwd_cnt is a lie
    ++counters_.credit_lies;
    queue_rst_for(request);
    return nullptr;
  }
  auto [it, inserted] = connections_.emplace(
      key, Connection::accept_guest_request(guest_cid_, request, limits_.buf_alloc));
  return inserted ? &it->second : nullptr;
}

void ConnectionTable::refuse_request(const Header& request) { queue_rst_for(request); }

Result<ConnectionKey> ConnectionTable::open_from_host(uint32_t guest_port) {
  if (connections_.size() >= limits_.max_connections)
    return Error("vsock: connection limit of " + std::to_string(limits_.max_connections) +
                 " reached");
  // At most size() local ports are taken, so this finds a free one within size() + 1 tries.
  for (size_t tries = 0; tries <= connections_.size(); ++tries) {
    const uint32_t port = kHostPortBase | (next_local_port_++ & kHostPortMask);
    auto it = connections_.lower_bound(ConnectionKey{port, 0});
    if (it != connections_.end() && it->first.local_port == port) continue;
    const ConnectionKey key{port, guest_port};
    connections_.emplace(key, Connection::open_from_host(guest_cid_, key, limits_.buf_alloc));
    return key;
  }
  return Error("vsock: no free local port");
}

Connection* ConnectionTable::find(ConnectionKey key) {
  auto it = connections_.find(key);
  return it == connections_.end() ? nullptr : &it->second;
}

std::optional<Header> ConnectionTable::take_standalone_rst() {
  if (standalone_rsts_.empty()) return std::nullopt;
  Header h = standalone_rsts_.front();
  standalone_rsts_.pop_front();
  return h;
}

void ConnectionTable::drop_finished() {
  std::erase_if(connections_, [](const auto& entry) { return entry.second.finished(); });
}

}  // namespace bulwark::vsock
