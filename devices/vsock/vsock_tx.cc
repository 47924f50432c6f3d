// The guest's (tenant) tx queue: each chain is one packet, copied out of guest memory once,
// checked (parse_guest_packet), routed by the connection table, its payload written to the
// host socket.
#include <cerrno>
#include <cstring>

#include "devices/vsock/host_socket.h"
#include "devices/vsock/vsock_device.h"

namespace bulwark::vsock {

Result<uint32_t> VsockDevice::process_tx(virtio::SplitQueue& queue, uint32_t budget) {
  uint32_t served = 0;
  for (; served < budget; ++served) {
    auto chain = queue.pop();
    if (!chain.ok()) return chain.error();
    if (!chain->has_value()) break;
    const virtio::DescriptorChain& c = **chain;
    if (c.readable_bytes > kHeaderSize + kMaxPayload) {
      log_.record(VsockEvent::kTxOversize, std::to_string(c.readable_bytes) + " bytes");
    } else {
      tx_packet_.clear();
      for (std::span<const uint8_t> buffer : c.readable) tx_packet_.insert(tx_packet_.end(), buffer.begin(), buffer.end());
      auto packet = parse_guest_packet(tx_packet_, options_.guest_cid);
      if (packet.ok()) {
        handle_guest_packet(*packet);
      } else {
        log_.record(VsockEvent::kTxMalformed, packet.error().message());
      }
    }
    BULWARK_TRY(queue.push_used(c.head, 0));
  }
  if (served > 0 && events_ != nullptr) events_->wake_queue(kRxQueue);
  return served;
}

namespace {

std::string describe(const Header& h) {
  return std::string(op_name(h.op)) + " guest port " + std::to_string(h.src_port) + " -> host port " +
         std::to_string(h.dst_port);
}

}  // namespace

void VsockDevice::handle_guest_packet(const GuestPacket& packet) {
  const Header& h = packet.header;
  const RouteResult routed = table_.on_guest_packet(h);
  switch (routed.route) {
    case Route::kConnection: {
      const GuestResult& r = routed.result;
      switch (r.verdict) {
        case GuestVerdict::kProtocolError:
          log_.record(VsockEvent::kGuestProtocolError, describe(h) + ": " + std::string(r.reason));
          break;
        case GuestVerdict::kCreditOverrun:
          log_.record(VsockEvent::kGuestCreditOverrun, describe(h) + ": " + std::string(r.reason));
          break;
        case GuestVerdict::kCreditLie:
          log_.record(VsockEvent::kGuestCreditLie, describe(h) + ": " + std::string(r.reason));
          break;
        case GuestVerdict::kOk:
        case GuestVerdict::kPeerReset: break;
      }
      if (r.forward_bytes > 0 && r.forward_bytes <= packet.payload.size()) {
        forward_to_host(routed.key, packet.payload.first(r.forward_bytes));
      }
      reconcile(routed.key);
      return;
    }
    case Route::kNewRequest: return accept_guest_request(h);
    case Route::kRefusedCap:
      log_.record(VsockEvent::kGuestCapRefused, describe(h) + ": " + std::to_string(table_.size()) + " connections");
      return;
    case Route::kUnknownConnection:
      if (h.op != Op::kRst) log_.record(VsockEvent::kGuestUnknownConnection, describe(h));
      return;
  }
}

void VsockDevice::accept_guest_request(const Header& request) {
  // Host clients still writing their CONNECT line count against the ceiling too.
  if (table_.size() + pending_.size() >= options_.max_connections) {
    log_.record(VsockEvent::kGuestCapRefused, describe(request));
    table_.refuse_request(request);
    return;
  }
  auto socket = connect_port(options_.uds_path, request.dst_port);
  if (!socket.ok()) {
    log_.record(VsockEvent::kGuestConnectRefused, socket.error().message());
    table_.refuse_request(request);
    return;
  }
  if (table_.accept_request(request) == nullptr) return;  // RST queued by the table
  const ConnectionKey key{request.dst_port, request.src_port};
  HostPeer& peer = peers_[key];
  peer.fd = std::move(*socket);
  peer.token = new_token();
  peer_tokens_[peer.token] = key;
  ++guest_opened_;
  reconcile(key);
}

void VsockDevice::forward_to_host(ConnectionKey key, std::span<const uint8_t> bytes) {
  auto it = peers_.find(key);
  Connection* connection = table_.find(key);
  if (connection == nullptr) return;
  if (it == peers_.end() || !it->second.fd.valid()) {
    connection->on_host_consumed(static_cast<uint32_t>(bytes.size()));  // nobody to take them
    return;
  }
  HostPeer& peer = it->second;
  if (peer.to_host_sent < peer.to_host.size()) {
    // Bytes already wait: these go behind them, in order.
    peer.to_host.insert(peer.to_host.end(), bytes.begin(), bytes.end());
    return flush_to_host(key, peer);
  }
  // Straight from the packet; only what the socket does not take now is held (at most our
  // buf_alloc in all: the connection resets a guest that sends more).
  const IoResult sent = send_some(peer.fd.get(), bytes);
  bytes_to_host_ += sent.bytes;
  connection->on_host_consumed(static_cast<uint32_t>(sent.bytes));
  if (sent.error != 0) {
    log_.record(VsockEvent::kHostIoError, "writing host socket: " + std::string(std::strerror(sent.error)));
    connection->on_host_gone();
    close_host_socket(peer);
    return;
  }
  peer.to_host.assign(bytes.begin() + static_cast<std::ptrdiff_t>(sent.bytes), bytes.end());
  peer.to_host_sent = 0;
}

}  // namespace bulwark::vsock
