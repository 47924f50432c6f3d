// The host side: host clients of `<uds_path>` (local processes the operator lets at the VM's
// vsock socket; their bytes are untrusted) and the sockets of guest-initiated connections.
// Everything is non-blocking and level-triggered through the backend's event loop; a socket
// is watched only for what its connection can take now (readable while the guest has credit
// for it, writable while guest bytes wait for it), so a stuck peer costs no wake-ups.
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "devices/vsock/host_socket.h"
#include "devices/vsock/vsock_device.h"

namespace bulwark::vsock {
namespace {

// Clients taken per listener wake-up: the queues get their turn between batches.
constexpr int kAcceptsPerEvent = 16;
// How long the listener rests after accept failed (EMFILE, ENOMEM).
constexpr std::chrono::milliseconds kListenerPause{100};

}  // namespace

uint32_t VsockDevice::new_token() {
  // Skips the fixed tokens and any still in use (after 2^32 connections).
  for (;;) {
    const uint32_t token = next_token_++;
    if (token < kFirstToken || peer_tokens_.count(token) != 0 || pending_.count(token) != 0) continue;
    return token;
  }
}

void VsockDevice::schedule(Clock::time_point deadline) {
  if (armed_for_ && *armed_for_ <= deadline) return;
  armed_for_ = deadline;
  timer_.arm(std::max<Clock::duration>(deadline - Clock::now(), std::chrono::microseconds(1)));
}

void VsockDevice::set_interest(HostPeer& peer, uint32_t events) {
  if (!peer.fd.valid()) events = 0;
  if (events == peer.watched || events_ == nullptr) return;
  // The loop's interface has add and remove only: a change is both.
  if (peer.watched != 0) events_->unwatch(peer.fd.get());
  peer.watched = 0;
  if (events != 0 && events_->watch(peer.fd.get(), events, peer.token).ok()) peer.watched = events;
}

void VsockDevice::close_host_socket(HostPeer& peer) {
  if (!peer.fd.valid()) return;
  set_interest(peer, 0);
  peer.fd.reset();
  peer.to_host.clear();
  peer.to_host_sent = 0;
}

void VsockDevice::accept_clients() {
  for (int i = 0; i < kAcceptsPerEvent; ++i) {
    auto client = accept_client(listener_.get());
    if (!client.ok()) {
      // Out of fds or memory: the listener stays ready, so it is set aside for a while
      // instead of waking the loop on every turn.
      log_.record(VsockEvent::kHostIoError, client.error().message());
      events_->unwatch(listener_.get());
      listener_resume_ = Clock::now() + kListenerPause;
      schedule(*listener_resume_);
      return;
    }
    if (!client->valid()) return;
    if (table_.size() + pending_.size() >= options_.max_connections) {
      log_.record(VsockEvent::kHostCapRefused, std::to_string(table_.size() + pending_.size()) + " connections");
      continue;  // closed here: the client sees EOF
    }
    const uint32_t token = new_token();
    PendingClient& pending = pending_[token];
    pending.fd = std::move(*client);
    pending.deadline = Clock::now() + options_.connect_timeout;
    if (!events_->watch(pending.fd.get(), EPOLLIN, token).ok()) {
      pending_.erase(token);
      continue;
    }
    schedule(pending.deadline);
  }
}

void VsockDevice::read_connect_line(uint32_t token) {
  auto it = pending_.find(token);
  if (it == pending_.end()) return;
  PendingClient& client = it->second;
  auto drop = [&] {
    events_->unwatch(client.fd.get());
    pending_.erase(it);
  };
  // Never more than the longest line: what follows its '\n' is the stream, kept for the guest.
  const std::span<uint8_t> room = std::span<uint8_t>(client.line).subspan(client.length);
  const std::span<uint8_t> buffers[] = {room};
  const IoResult read = receive_some(client.fd.get(), buffers, room.size());
  if (read.would_block) return;
  if (read.closed || read.error != 0) return drop();  // the client gave up: nothing to say
  client.length += read.bytes;
  auto request = parse_connect_line(std::span<const uint8_t>(client.line).first(client.length));
  if (!request.ok()) {
    log_.record(VsockEvent::kHostBadConnect, request.error().message());
    return drop();
  }
  if (!request->has_value()) return;  // a valid beginning: wait for the rest
  auto key = table_.open_from_host((*request)->port);
  if (!key.ok()) {
    log_.record(VsockEvent::kHostCapRefused, key.error().message());
    return drop();
  }
  events_->unwatch(client.fd.get());
  HostPeer& peer = peers_[*key];
  peer.fd = std::move(client.fd);
  peer.token = token;
  peer.reply_pending = true;
  peer.to_guest.assign(client.line.begin() + static_cast<std::ptrdiff_t>((*request)->line_length),
                       client.line.begin() + static_cast<std::ptrdiff_t>(client.length));
  // The guest answers our REQUEST within the same timeout, or the client is closed.
  peer.deadline = Clock::now() + options_.connect_timeout;
  pending_.erase(it);
  peer_tokens_[token] = *key;
  ++host_opened_;
  schedule(*peer.deadline);
  reconcile(*key);
}

void VsockDevice::on_peer_event(uint32_t token) {
  auto at = peer_tokens_.find(token);
  if (at == peer_tokens_.end()) return;
  const ConnectionKey key = at->second;
  auto it = peers_.find(key);
  if (it == peers_.end()) return;
  HostPeer& peer = it->second;
  // The loop does not say which event came: act on what was asked for (a wrong guess costs
  // one EAGAIN).
  if ((peer.watched & EPOLLIN) != 0) peer.readable = true;
  if ((peer.watched & EPOLLOUT) != 0) flush_to_host(key, peer);
  reconcile(key);
}

void VsockDevice::flush_to_host(ConnectionKey key, HostPeer& peer) {
  Connection* connection = table_.find(key);
  if (connection == nullptr || !peer.fd.valid()) return;
  const std::span<const uint8_t> rest = std::span<const uint8_t>(peer.to_host).subspan(peer.to_host_sent);
  if (rest.empty()) return;
  const IoResult sent = send_some(peer.fd.get(), rest);
  peer.to_host_sent += sent.bytes;
  bytes_to_host_ += sent.bytes;
  connection->on_host_consumed(static_cast<uint32_t>(sent.bytes));
  if (peer.to_host_sent == peer.to_host.size()) {
    peer.to_host.clear();
    peer.to_host_sent = 0;
  } else if (peer.to_host_sent >= peer.to_host.size() / 2) {
    peer.to_host.erase(peer.to_host.begin(), peer.to_host.begin() + static_cast<std::ptrdiff_t>(peer.to_host_sent));
    peer.to_host_sent = 0;
  }
  if (sent.error != 0) {
    log_.record(VsockEvent::kHostIoError, "writing host socket: " + std::string(std::strerror(sent.error)));
    connection->on_host_gone();
    close_host_socket(peer);
  }
}

void VsockDevice::reconcile(ConnectionKey key) {
  auto it = peers_.find(key);
  Connection* connection = table_.find(key);
  if (it == peers_.end()) return;
  HostPeer& peer = it->second;
  auto forget = [&] {
    close_host_socket(peer);
    peer_tokens_.erase(peer.token);
    peers_.erase(it);
  };
  if (connection == nullptr) return forget();
  if (connection->finished()) {
    table_.connections().erase(key);
    return forget();
  }
  switch (connection->state()) {
    case ConnState::kHostRequesting: break;
    case ConnState::kEstablished: {
      if (peer.reply_pending) {
        peer.reply_pending = false;
        peer.deadline.reset();
        const std::string reply = connect_reply(key.local_port);
        const IoResult sent =
            send_some(peer.fd.get(), std::span(reinterpret_cast<const uint8_t*>(reply.data()), reply.size()));
        if (sent.bytes != reply.size()) {
          log_.record(VsockEvent::kHostIoError, "the OK reply did not fit the host socket");
          connection->on_host_gone();
          close_host_socket(peer);
          break;
        }
      }
      if (connection->host_write_done() && !peer.write_shut && peer.fd.valid()) {
        ::shutdown(peer.fd.get(), SHUT_WR);
        peer.write_shut = true;
      }
      const bool has_data = peer.to_guest_sent < peer.to_guest.size() || (peer.readable && !peer.read_eof);
      if (has_data && connection->send_credit() == 0) connection->want_credit();
      break;
    }
    case ConnState::kLocalClosing:
      close_host_socket(peer);
      if (!peer.deadline) {
        peer.deadline = Clock::now() + options_.close_timeout;
        schedule(*peer.deadline);
      }
      break;
    case ConnState::kClosed:
      close_host_socket(peer);
      peer.deadline.reset();
      break;
  }
  uint32_t interest = 0;
  if (connection->state() == ConnState::kEstablished && !peer.reply_pending) {
    if (!peer.read_eof && !peer.readable && peer.to_guest_sent >= peer.to_guest.size() &&
        connection->send_credit() > 0)
      interest |= EPOLLIN;
    if (peer.to_host_sent < peer.to_host.size()) interest |= EPOLLOUT;
  }
  set_interest(peer, interest);
  if (events_ != nullptr && (connection->has_control_packet() || data_ready(key, *connection))) {
    events_->wake_queue(kRxQueue);
  }
}

void VsockDevice::on_timer() {
  timer_.clear();
  armed_for_.reset();
  const Clock::time_point now = Clock::now();
  std::optional<Clock::time_point> next;
  auto keep = [&](Clock::time_point deadline) { next = next ? std::min(*next, deadline) : deadline; };
  if (listener_resume_) {
    if (*listener_resume_ <= now) {
      listener_resume_.reset();
      if (!events_->watch(listener_.get(), EPOLLIN, kListenerToken).ok()) listener_resume_ = now + kListenerPause;
    }
    if (listener_resume_) keep(*listener_resume_);
  }
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.deadline <= now) {
      log_.record(VsockEvent::kHostConnectTimeout, "no complete CONNECT line within " +
                                                       std::to_string(options_.connect_timeout.count()) + " ms");
      events_->unwatch(it->second.fd.get());
      it = pending_.erase(it);
    } else {
      keep(it->second.deadline);
      ++it;
    }
  }
  std::vector<ConnectionKey> expired;
  for (auto& [key, peer] : peers_) {
    if (!peer.deadline) continue;
    if (*peer.deadline <= now) {
      expired.push_back(key);
    } else {
      keep(*peer.deadline);
    }
  }
  for (const ConnectionKey& key : expired) {
    Connection* connection = table_.find(key);
    auto it = peers_.find(key);
    if (it != peers_.end()) it->second.deadline.reset();
    if (connection == nullptr) continue;
    log_.record(connection->state() == ConnState::kHostRequesting ? VsockEvent::kHostConnectTimeout
                                                                  : VsockEvent::kCloseTimeout,
                "port " + std::to_string(key.local_port) + " <-> guest port " + std::to_string(key.peer_port));
    connection->reset();
    reconcile(key);
  }
  if (next) schedule(*next);
}

}  // namespace bulwark::vsock
