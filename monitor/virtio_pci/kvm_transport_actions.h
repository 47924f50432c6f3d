// KvmActions on a real VM: eventfds, KVM ioeventfds and irqfds, MSI routes in the VM's shared
// GSI routing table, and KVM_SIGNAL_MSI.
#pragma once

#include "monitor/kvm/irq_routing.h"
#include "monitor/virtio_pci/kvm_actions.h"

namespace bulwark::virtio_pci {

class KvmTransportActions final : public KvmActions {
 public:
  // `routing` is shared by every device of the VM and must outlive this object.
  KvmTransportActions(int vm_fd, kvm::GsiRouting& routing) : vm_fd_(vm_fd), routing_(routing) {}

  Result<UniqueFd> create_eventfd() override;
  void signal_eventfd(int fd) override;
  Status add_ioeventfd(uint64_t gpa, int fd) override;
  Status remove_ioeventfd(uint64_t gpa, int fd) override;
  Result<uint32_t> allocate_gsi() override;
  Status set_msi_route(uint32_t gsi, const pci::MsiMessage& message) override;
  Status assign_irqfd(uint32_t gsi, int fd) override;
  Status deassign_irqfd(uint32_t gsi, int fd) override;
  Status signal_msi(const pci::MsiMessage& message) override;

 private:
  int vm_fd_;
  kvm::GsiRouting& routing_;
};

}  // namespace bulwark::virtio_pci
