// What a device process implements: the virtio device itself (feature bits, configuration
// space, queue handling). The backend server (backend_server.h) speaks vhost-user for it.
#pragma once

#include <cstdint>
#include <span>

#include "bulwark/common/result.h"
#include "devices/control/control_message.h"
#include "devices/virtio/split_queue.h"

namespace bulwark::backend {

// What a device may ask of the server's event loop besides its queues' kicks: wait on fds of
// its own (a TAP, a timer) and give a queue a turn, as a kick would. Implemented by the server.
class DeviceEvents {
 public:
  virtual ~DeviceEvents() = default;
  // Waits (level-triggered) for `events` (EPOLLIN, EPOLLOUT) on `fd`; the server then calls
  // VirtioDevice::on_device_event(token). Until unwatch(fd), every loop turn that finds the fd
  // ready calls it again.
  virtual Status watch(int fd, uint32_t events, uint32_t token) = 0;
  virtual void unwatch(int fd) = 0;
  // Serves queue `index` at the loop's next turn if the ring runs (ignored otherwise).
  virtual void wake_queue(uint16_t index) = 0;
};

class VirtioDevice {
 public:
  virtual ~VirtioDevice() = default;

  virtual uint32_t device_type() const = 0;  // virtio device id: 2 block, 4 entropy
  // Device-specific feature bits; the server adds VERSION_1, EVENT_IDX, INDIRECT_DESC and
  // PROTOCOL_FEATURES itself.
  virtual uint64_t device_features() const = 0;
  virtual uint16_t num_queues() const = 0;
  virtual uint16_t max_queue_size() const = 0;
  // The configuration space bytes as the guest reads them.
  virtual std::span<const uint8_t> config_space() const = 0;
  // A guest write to the configuration space; refused unless the device has writable fields.
  virtual Status write_config(uint32_t /*offset*/, std::span<const uint8_t> /*bytes*/) {
    return Error("the device configuration is read-only");
  }
  // The features the driver accepted (after SET_FEATURES).
  virtual void set_features(uint64_t /*negotiated*/) {}
  // Handles at most `budget` available chains on `queue` (pop, serve, push_used) and returns
  // how many it handled. Stopping at the budget is what keeps a device fair: the server comes
  // back for the rest after it has looked at its socket and its other queues, so a guest that
  // keeps one queue full cannot starve them. Fewer than `budget` means the queue was empty.
  // An Error means the guest broke the queue; the server stops that queue.
  virtual Result<uint32_t> process_queue(uint16_t index, virtio::SplitQueue& queue, uint32_t budget) = 0;
  // Called once when the server starts serving, before any request: a device with fds of its
  // own registers them here. An Error ends the session. `events` outlives the session.
  virtual Status attach_events(DeviceEvents& /*events*/) { return ok_status(); }
  // A fd the device watches is ready (DeviceEvents::watch).
  virtual void on_device_event(uint32_t /*token*/) {}
  // Ring `index` started (it has everything it needs and, with PROTOCOL_FEATURES, is
  // enabled) or stopped. A frontend that serves part of the device itself (QEMU's virtio-net
  // control queue) says which rings carry traffic only this way.
  virtual void queue_running(uint16_t /*index*/, bool /*running*/) {}
  // The frontend is stopping queue `index` (GET_VRING_BASE, or the session ended), before its
  // position is read: a device holding a chain it popped and has not used gives it back here
  // (SplitQueue::give_back), so the position it reports leaves the buffer to the guest.
  virtual void queue_stopping(uint16_t /*index*/, virtio::SplitQueue& /*queue*/) {}
  // This process replaces one that served the device before (a ring resumed a record another
  // process wrote, SET_INFLIGHT_FD); called once, when the first such ring starts. State the
  // predecessor held outside the rings is gone: vsock resets the guest's connections here.
  virtual void predecessor_served() {}
  // A command from the launcher's control channel (devices/README.md, "Control channel"),
  // decoded and bounded already; the answer goes back on the channel.
  virtual devctl::ControlReply control(const devctl::ControlCommand& /*command*/) {
    return {devctl::ControlStatus::kUnsupported, {}, {}};
  }
};

}  // namespace bulwark::backend
