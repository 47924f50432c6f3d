#include "monitor/vmm/virtio_devices.h"

#include "bulwark/common/log.h"

namespace bulwark::vmm {

std::vector<vhost_user::VhostUserFrontend*> VirtioDevices::raw(
    const std::vector<std::unique_ptr<vhost_user::VhostUserFrontend>>& frontends) {
  std::vector<vhost_user::VhostUserFrontend*> out;
  for (const auto& f : frontends) out.push_back(f.get());
  return out;
}

VirtioDevices::VirtioDevices(int vm_fd, std::vector<std::unique_ptr<vhost_user::VhostUserFrontend>> frontends)
    : frontends_(std::move(frontends)),
      routing_(vm_fd),
      actions_(vm_fd, routing_),
      // The function learns of the failure at once: DEVICE_NEEDS_RESET and a config interrupt.
      watch_(
          raw(frontends_),
          [this](size_t index) {
            if (index < functions_.size()) functions_[index]->check_backend();
          },
          // The guest learns that its queue is gone: DEVICE_NEEDS_RESET until it resets.
          [this](size_t index) {
            if (index < functions_.size()) functions_[index]->queue_broken_by_guest();
          }) {}

Result<std::unique_ptr<VirtioDevices>> VirtioDevices::create(
    IoBus& bus, const kvm::Vm& vm, std::vector<std::unique_ptr<vhost_user::VhostUserFrontend>> frontends) {
  std::unique_ptr<VirtioDevices> devices(new VirtioDevices(vm.fd(), std::move(frontends)));
  for (const auto& frontend : devices->frontends_) {
    auto function = virtio_pci::VirtioPciDevice::create(*frontend, devices->actions_);
    if (!function.ok()) return function.error().wrap(frontend->name());
    auto slot = devices->pci_bus_.add_device(**function);
    if (!slot.ok()) return slot.error().wrap(frontend->name());
    log::info(frontend->name() + ": PCI 00:" + std::to_string(*slot) + ".0" +
              (frontend->failed() ? " (failed: the guest's driver will find it unusable)" : ""));
    // Round trips to the device process happen outside the bus lock (virtio_pci_device.h).
    (*function)->defer_backend_calls();
    devices->functions_.push_back(std::move(*function));
  }
  // After each access, on the vCPU thread that made it and without the bus lock: the backend
  // calls that access queued (and any another vCPU queued), so the vCPU sees them done before
  // it runs guest code again while the other vCPUs' exits go on.
  VirtioDevices* raw_devices = devices.get();
  IoBus* raw_bus = &bus;
  bus.set_after_access([raw_devices, raw_bus] { raw_devices->run_backend_calls(*raw_bus); });
  pci::PciBus& pci = devices->pci_bus_;
  if (!bus.add_port_device(pci::kConfigAddressPort, pci::kConfigPortCount, &pci, "pci") ||
      !bus.add_mmio_device(pci.window_base(), pci.window_size(), &pci, "pci")) {
    return Error("internal: the PCI bus overlaps another device");
  }
  return devices;
}

void VirtioDevices::run_backend_calls(IoBus& bus) {
  for (const auto& function : functions_) {
    if (!function->has_backend_calls()) continue;
    function->run_backend_calls([&bus](const std::function<void()>& fn) { bus.with_devices_locked(fn); });
  }
}

void VirtioDevices::handle_poll(std::span<const pollfd> fds, size_t first, IoBus& bus) {
  watch_.handle(fds, first, [&bus](std::function<void()> fn) { bus.with_devices_locked(fn); });
}

ReplaceOutcome VirtioDevices::replace_device(size_t index, std::optional<UniqueFd> socket, IoBus& bus) {
  if (index >= frontends_.size() || index >= functions_.size()) return {ReplaceOutcome::Kind::kNoSuchDevice, ""};
  vhost_user::VhostUserFrontend& frontend = *frontends_[index];
  virtio_pci::VirtioPciDevice& function = *functions_[index];
  if (!socket) {
    bus.with_devices_locked([&] {
      frontend.fail("the launcher will not replace its device process");
      function.check_backend();
    });
    return {ReplaceOutcome::Kind::kFailed, ""};
  }
  if (frontend.failed()) return {ReplaceOutcome::Kind::kNotWaiting, "it failed already: " + frontend.failure()};
  const Status reconnected = frontend.reconnect(std::move(*socket));
  if (reconnected.ok()) return {ReplaceOutcome::Kind::kReconnected, ""};
  if (!frontend.failed()) return {ReplaceOutcome::Kind::kNotWaiting, reconnected.error().message()};
  bus.with_devices_locked([&] { function.check_backend(); });
  return {ReplaceOutcome::Kind::kReconnectFailed, frontend.failure()};
}

}  // namespace bulwark::vmm
