// The rx queue: the device's packets to the guest (tenant) in the buffers the guest offers.
// A buffer is popped only when there is something to send: stand-alone RSTs first, then the
// connections round-robin, each giving one control packet or one data packet per turn, so a
// busy connection cannot starve the others. Host bytes are read straight into the guest's
// buffer, never more than the guest's credit for that connection.
#include <algorithm>
#include <cstring>

#include "devices/vsock/host_socket.h"
#include "devices/vsock/vsock_device.h"

namespace bulwark::vsock {
namespace {

// The chain's writable buffers from byte `at` on.
std::vector<std::span<uint8_t>> buffers_from(const virtio::DescriptorChain& chain, size_t at) {
  std::vector<std::span<uint8_t>> out;
  for (std::span<uint8_t> buffer : chain.writable) {
    if (at >= buffer.size()) {
      at -= buffer.size();
      continue;
    }
    out.push_back(buffer.subspan(at));
    at = 0;
  }
  return out;
}

// Copies `bytes` into the chain's writable buffers from byte `at` on (they were checked to
// have room).
void scatter(const virtio::DescriptorChain& chain, size_t at, std::span<const uint8_t> bytes) {
  for (std::span<uint8_t> buffer : buffers_from(chain, at)) {
    if (bytes.empty()) return;
    const size_t n = std::min(buffer.size(), bytes.size());
    std::memcpy(buffer.data(), bytes.data(), n);
    bytes = bytes.subspan(n);
  }
}

void write_header(const virtio::DescriptorChain& chain, const Header& header) {
  const std::array<uint8_t, kHeaderSize> bytes = encode_header(header);
  scatter(chain, 0, bytes);
}

}  // namespace

bool VsockDevice::data_ready(ConnectionKey key, const Connection& connection) const {
  auto it = peers_.find(key);
  if (it == peers_.end() || connection.send_credit() == 0) return false;
  const HostPeer& peer = it->second;
  if (peer.reply_pending) return false;  // the client hears OK before any guest bytes... and
                                         // the guest gets none before it answered
  if (peer.to_guest_sent < peer.to_guest.size()) return true;
  return peer.fd.valid() && peer.readable && !peer.read_eof;
}

std::optional<ConnectionKey> VsockDevice::next_sender() {
  auto& connections = table_.connections();
  if (connections.empty()) return std::nullopt;
  auto start = rx_cursor_ ? connections.upper_bound(*rx_cursor_) : connections.begin();
  for (size_t i = 0; i < connections.size(); ++i) {
    if (start == connections.end()) start = connections.begin();
    if (start->second.has_control_packet() || data_ready(start->first, start->second)) return start->first;
    ++start;
  }
  return std::nullopt;
}

uint32_t VsockDevice::fill_with_data(ConnectionKey key, const virtio::DescriptorChain& chain) {
  Connection* connection = table_.find(key);
  auto it = peers_.find(key);
  if (connection == nullptr || it == peers_.end()) return 0;
  HostPeer& peer = it->second;
  const uint64_t room = chain.writable_bytes - kHeaderSize;
  const uint32_t want = static_cast<uint32_t>(std::min<uint64_t>({room, connection->send_credit(), kMaxPayload}));
  if (want == 0) return 0;
  size_t got = 0;
  if (peer.to_guest_sent < peer.to_guest.size()) {
    const std::span<const uint8_t> rest = std::span<const uint8_t>(peer.to_guest).subspan(peer.to_guest_sent);
    got = std::min<size_t>(want, rest.size());
    scatter(chain, kHeaderSize, rest.first(got));
    peer.to_guest_sent += got;
  } else {
    const std::vector<std::span<uint8_t>> buffers = buffers_from(chain, kHeaderSize);
    const IoResult read = receive_some(peer.fd.get(), buffers, want);
    got = read.bytes;
    if (read.would_block) peer.readable = false;
    if (read.closed) {
      peer.read_eof = true;
      connection->on_host_eof();
    }
    if (read.error != 0) {
      log_.record(VsockEvent::kHostIoError, "reading host socket: " + std::string(std::strerror(read.error)));
      connection->on_host_gone();
    }
  }
  if (got == 0) {
    // Nothing read: what the read found out (EOF, a failure) may have a packet of its own.
    reconcile(key);
    connection = table_.find(key);
    if (connection == nullptr) return 0;
    auto control = connection->take_control_packet();
    if (!control) return 0;
    write_header(chain, *control);
    reconcile(key);
    return static_cast<uint32_t>(kHeaderSize);
  }
  const Header header = connection->take_rw_header(static_cast<uint32_t>(got));
  write_header(chain, header);
  bytes_to_guest_ += got;
  reconcile(key);
  return static_cast<uint32_t>(kHeaderSize + got);
}

Result<uint32_t> VsockDevice::process_rx(virtio::SplitQueue& queue, uint32_t budget) {
  uint32_t served = 0;
  while (served < budget) {
    if (!held_rst_) held_rst_ = table_.take_standalone_rst();
    std::optional<ConnectionKey> sender;
    if (!held_rst_) {
      sender = next_sender();
      if (!sender) break;
    }
    if (!held_rx_) {
      auto chain = queue.pop();
      if (!chain.ok()) return chain.error();
      if (!chain->has_value()) break;  // the guest's kick brings us back
      held_rx_ = std::move(**chain);
    }
    const virtio::DescriptorChain chain = std::move(*held_rx_);
    held_rx_.reset();
    const Connection* owner = sender ? table_.find(*sender) : nullptr;
    const bool control_next = held_rst_ || (owner != nullptr && owner->has_control_packet());
    if (chain.writable_bytes < kHeaderSize || (!control_next && chain.writable_bytes == kHeaderSize)) {
      // Too small for what is next (Linux offers a header and 4 KiB at least): returned
      // empty, which the guest's driver skips.
      log_.record(VsockEvent::kRxBufferTooSmall, std::to_string(chain.writable_bytes) + " writable bytes");
      BULWARK_TRY(queue.push_used(chain.head, 0));
      ++served;
      continue;
    }
    uint32_t written = 0;
    if (held_rst_) {
      write_header(chain, *held_rst_);
      held_rst_.reset();
      written = kHeaderSize;
    } else {
      rx_cursor_ = *sender;
      Connection* connection = table_.find(*sender);
      if (connection != nullptr && connection->has_control_packet()) {
        write_header(chain, *connection->take_control_packet());
        written = kHeaderSize;
        reconcile(*sender);
      } else {
        written = fill_with_data(*sender, chain);
      }
    }
    if (written == 0) {
      held_rx_ = chain;  // nothing could go after all: keep the buffer for the next packet
      continue;
    }
    BULWARK_TRY(queue.push_used(chain.head, written));
    ++served;
  }
  return served;
}

}  // namespace bulwark::vsock
