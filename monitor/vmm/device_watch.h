// The main thread's watch over the vhost-user devices while the guest runs: a device process
// that dies or hangs up between requests shows as a hang-up on its socket; one that stopped a
// queue the guest broke writes its queue-error eventfd. The vCPU threads notice a dead device
// only at its next request; this notices it at once: a device with an in-flight record becomes
// disconnected (it waits for the launcher's ReplaceDevice, the guest sees nothing), any other
// fails and the guest sees DEVICE_NEEDS_RESET.
#pragma once

#include <poll.h>

#include <cstddef>
#include <functional>
#include <span>
#include <vector>

#include "monitor/vhost_user/vhost_user_frontend.h"

namespace bulwark::vmm {

class DeviceWatch {
 public:
  // `on_hang_up(index)` runs with the device lock held, after the frontend was failed (not
  // when it only became disconnected);
  // `on_queue_error(index)` with the lock held when the device process reports a queue the
  // guest broke.
  using HangUp = std::function<void(size_t index)>;
  using QueueError = std::function<void(size_t index)>;
  // `devices` outlive the watch.
  DeviceWatch(std::vector<vhost_user::VhostUserFrontend*> devices, HangUp on_hang_up,
              QueueError on_queue_error);

  // Appends one pollfd per socket of a device that has neither failed nor lost its process,
  // and one per queue-error eventfd; remembers which is which until the next call.
  void add_pollfds(std::vector<pollfd>& fds);
  // Looks at the revents of the entries add_pollfds appended, starting at `first`. `locked`
  // runs a function under the device lock (IoBus::with_devices_locked).
  void handle(std::span<const pollfd> fds, size_t first, const std::function<void(std::function<void()>)>& locked);

 private:
  struct Watched {
    size_t device;
    bool is_socket;  // else the queue-error eventfd
  };
  std::vector<vhost_user::VhostUserFrontend*> devices_;
  HangUp on_hang_up_;
  QueueError on_queue_error_;
  std::vector<Watched> watched_;
  std::vector<bool> error_reported_;
};

}  // namespace bulwark::vmm
