// bulwark-dev-vsock's VirtioDevice glue: options checked at start-up (launcher), the config
// space, and which queue or fd event goes where. The paths themselves are in vsock_tx.cc
// (guest packets), vsock_rx.cc (packets to the guest) and vsock_host.cc (host clients).
#include "devices/vsock/vsock_device.h"

#include <sys/epoll.h>

#include <algorithm>

#include "bulwark/common/log.h"

namespace bulwark::vsock {

Result<std::unique_ptr<VsockDevice>> VsockDevice::create(VsockDeviceOptions options, UniqueFd listener) {
  // CIDs 0-2 are the hypervisor's and the host's, 0xffffffff is VMADDR_CID_ANY; Linux takes
  // 32-bit CIDs only.
  if (options.guest_cid < 3 || options.guest_cid >= 0xffffffffu) {
    return Error("the guest CID must be from 3 to 4294967294");
  }
  if (options.max_connections == 0) return Error("the connection ceiling must be at least 1");
  if (options.buf_alloc < 4096) return Error("buf_alloc must be at least 4096 bytes");
  if (!listener.valid()) return Error("no listening socket for the host side");
  auto timer = backend::ThrottleTimer::create();
  if (!timer.ok()) return timer.error().wrap("vsock timer");
  return std::unique_ptr<VsockDevice>(new VsockDevice(std::move(options), std::move(listener), std::move(*timer)));
}

VsockDevice::VsockDevice(VsockDeviceOptions options, UniqueFd listener, backend::ThrottleTimer timer)
    : options_(std::move(options)),
      listener_(std::move(listener)),
      timer_(std::move(timer)),
      table_(options_.guest_cid, TableLimits{options_.max_connections, options_.buf_alloc, 256}) {
  for (size_t i = 0; i < config_.size(); ++i) config_[i] = static_cast<uint8_t>(options_.guest_cid >> (8 * i));
  tx_packet_.reserve(kHeaderSize + kMaxPayload);
}

Result<uint32_t> VsockDevice::process_queue(uint16_t index, virtio::SplitQueue& queue, uint32_t budget) {
  switch (index) {
    case kRxQueue: return process_rx(queue, budget);
    case kTxQueue: return process_tx(queue, budget);
    default: return process_events(queue);
  }
}

void VsockDevice::predecessor_served() {
  // The connections the guest has were the dead process's; their host sockets are gone.
  transport_reset_pending_ = true;
  log_.record(VsockEvent::kTransportReset, "this process replaces one that served the device");
  if (events_ != nullptr) events_->wake_queue(kEventQueue);
}

Result<uint32_t> VsockDevice::process_events(virtio::SplitQueue& queue) {
  if (!transport_reset_pending_) return 0u;  // the guest's buffers wait for the next reset
  auto chain = queue.pop();
  if (!chain.ok()) return chain.error();
  if (!chain->has_value()) return 0u;  // posted when the guest offers a buffer
  // struct virtio_vsock_event { le32 id; }, id 0 = VIRTIO_VSOCK_EVENT_TRANSPORT_RESET.
  constexpr uint32_t kEventBytes = 4;
  if ((*chain)->writable_bytes < kEventBytes) {
    BULWARK_TRY(queue.push_used((*chain)->head, 0));  // too small: returned empty, tried again
    return 1u;
  }
  uint32_t left = kEventBytes;
  for (std::span<uint8_t> buffer : (*chain)->writable) {
    const size_t n = std::min<size_t>(buffer.size(), left);
    std::fill_n(buffer.data(), n, uint8_t{0});  // the id is 0: every byte is zero
    left -= static_cast<uint32_t>(n);
    if (left == 0) break;
  }
  BULWARK_TRY(queue.push_used((*chain)->head, kEventBytes));
  transport_reset_pending_ = false;
  return 1u;
}

Status VsockDevice::attach_events(backend::DeviceEvents& events) {
  events_ = &events;
  BULWARK_TRY(events.watch(listener_.get(), EPOLLIN, kListenerToken));
  return events.watch(timer_.fd(), EPOLLIN, kTimerToken);
}

void VsockDevice::on_device_event(uint32_t token) {
  if (token == kListenerToken) return accept_clients();
  if (token == kTimerToken) return on_timer();
  if (pending_.count(token) != 0) return read_connect_line(token);
  on_peer_event(token);
}

void VsockDevice::queue_stopping(uint16_t index, virtio::SplitQueue& queue) {
  // An rx buffer popped and not filled goes back to the ring, or the guest would never see it
  // again and its driver (which refills only below half its buffers) would be one short.
  if (index != kRxQueue || !held_rx_) return;
  if (Status given = queue.give_back(held_rx_->head); !given.ok()) {
    log::error("vsock rx: " + given.error().message());
  }
  held_rx_.reset();
}

void VsockDevice::queue_running(uint16_t index, bool running) {
  if (index == kRxQueue && !running) held_rx_.reset();  // given back in queue_stopping
  if (index == kRxQueue && running && events_ != nullptr) events_->wake_queue(kRxQueue);
}

std::string VsockDevice::summary() const {
  const TableCounters& c = table_.counters();
  return "connections: " + std::to_string(guest_opened_) + " opened by the guest, " + std::to_string(host_opened_) +
         " by host clients; " + std::to_string(bytes_to_guest_) + " bytes to the guest, " +
         std::to_string(bytes_to_host_) + " to the host; events: " + log_.summary() +
         "; rsts_dropped=" + std::to_string(c.rsts_dropped);
}

}  // namespace bulwark::vsock
