// The VM's virtio devices: the PCI bus (configuration mechanism #1 on 0xCF8 and the BAR
// window in the MMIO hole), one virtio-pci function per vhost-user device, and the KVM side
// they share (the GSI routing table). Built before the guest runs, after every device's
// handshake, so no vCPU thread ever connects anywhere.
#pragma once

#include <poll.h>

#include <memory>
#include <optional>
#include <vector>

#include "bulwark/common/result.h"
#include "monitor/kvm/irq_routing.h"
#include "monitor/kvm/vm.h"
#include "monitor/pci/pci_bus.h"
#include "monitor/vhost_user/vhost_user_frontend.h"
#include "monitor/virtio_pci/kvm_transport_actions.h"
#include "monitor/virtio_pci/virtio_pci_device.h"
#include "monitor/vmm/control_dispatch.h"
#include "monitor/vmm/device_watch.h"
#include "monitor/vmm/io_bus.h"

namespace bulwark::vmm {

class VirtioDevices {
 public:
  // Registers the bus on `bus` (ports and MMIO window) and plugs one function per frontend,
  // in order. `vm` and `bus` outlive the result.
  static Result<std::unique_ptr<VirtioDevices>> create(
      IoBus& bus, const kvm::Vm& vm, std::vector<std::unique_ptr<vhost_user::VhostUserFrontend>> frontends);
  VirtioDevices(const VirtioDevices&) = delete;
  VirtioDevices& operator=(const VirtioDevices&) = delete;

  // The main loop's share: hang-ups of device sockets and queue-error eventfds.
  void add_pollfds(std::vector<pollfd>& fds) { watch_.add_pollfds(fds); }
  void handle_poll(std::span<const pollfd> fds, size_t first, IoBus& bus);
  // Does the vhost-user round trips the functions queued (IoBus after-access hook; called
  // without the bus lock, takes it as needed).
  void run_backend_calls(IoBus& bus);
  size_t count() const { return frontends_.size(); }
  // The launcher's ReplaceDevice (control_dispatch.h): reconnects device `index` to a fresh
  // process, or fails it. Called on the main thread without the bus lock: the handshake's round
  // trips must not hold up the vCPUs' exits; the frontend orders them with its own activate
  // and reset. The transport learns of a failure under the lock.
  ReplaceOutcome replace_device(size_t index, std::optional<UniqueFd> socket, IoBus& bus);

 private:
  VirtioDevices(int vm_fd, std::vector<std::unique_ptr<vhost_user::VhostUserFrontend>> frontends);
  static std::vector<vhost_user::VhostUserFrontend*> raw(
      const std::vector<std::unique_ptr<vhost_user::VhostUserFrontend>>& frontends);

  std::vector<std::unique_ptr<vhost_user::VhostUserFrontend>> frontends_;
  kvm::GsiRouting routing_;
  virtio_pci::KvmTransportActions actions_;
  std::vector<std::unique_ptr<virtio_pci::VirtioPciDevice>> functions_;
  pci::PciBus pci_bus_;
  DeviceWatch watch_;
};

}  // namespace bulwark::vmm
