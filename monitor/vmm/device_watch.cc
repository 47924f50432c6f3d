#include "monitor/vmm/device_watch.h"

#include <unistd.h>

#include <cstdint>

#include "bulwark/common/log.h"

namespace bulwark::vmm {

DeviceWatch::DeviceWatch(std::vector<vhost_user::VhostUserFrontend*> devices, HangUp on_hang_up,
                         QueueError on_queue_error)
    : devices_(std::move(devices)),
      on_hang_up_(std::move(on_hang_up)),
      on_queue_error_(std::move(on_queue_error)),
      error_reported_(devices_.size(), false) {}

void DeviceWatch::add_pollfds(std::vector<pollfd>& fds) {
  watched_.clear();
  for (size_t i = 0; i < devices_.size(); ++i) {
    // A disconnected device's socket stays hung up until its replacement arrives; its queue
    // errors come from the process that is gone.
    if (devices_[i]->failed() || devices_[i]->disconnected()) continue;
    // Only the hang-up: replies on the socket belong to the vCPU thread waiting for them.
    fds.push_back({devices_[i]->socket_fd(), POLLRDHUP, 0});
    watched_.push_back({i, true});
    fds.push_back({devices_[i]->error_eventfd(), POLLIN, 0});
    watched_.push_back({i, false});
  }
}

void DeviceWatch::handle(std::span<const pollfd> fds, size_t first,
                         const std::function<void(std::function<void()>)>& locked) {
  for (size_t k = 0; k < watched_.size() && first + k < fds.size(); ++k) {
    const short revents = fds[first + k].revents;
    if (revents == 0) continue;
    const Watched& w = watched_[k];
    vhost_user::VhostUserFrontend& device = *devices_[w.device];
    if (w.is_socket) {
      if ((revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) == 0) continue;
      locked([&] {
        if (device.failed() || device.disconnected()) return;
        // With an in-flight record the device waits for a replacement (logged "waiting for a
        // replacement device process"); the guest sees nothing, its requests wait.
        if (device.disconnect("the device process closed its connection (it exited or was killed)")) return;
        if (on_hang_up_) on_hang_up_(w.device);
      });
      continue;
    }
    uint64_t count = 0;
    if (::read(fds[first + k].fd, &count, sizeof count) != sizeof count) continue;
    // The guest broke a queue and the device process stopped it: the guest's doing, logged
    // once per device so a guest cannot flood the log.
    if (!error_reported_[w.device]) {
      error_reported_[w.device] = true;
      log::warn(device.name() + ": the device process stopped a queue the guest broke");
    }
    if (on_queue_error_) locked([&] { on_queue_error_(w.device); });
  }
}

}  // namespace bulwark::vmm
