// The VM's GSI routing table with MSI routes for PCI devices' MSI-X vectors, and
// KVM_SIGNAL_MSI for interrupts the monitor raises itself. KVM_SET_GSI_ROUTING replaces the
// whole table, so every update repeats the irqchip routes KVM installs by default (legacy IRQs
// 0-15 on the PICs and the IOAPIC, 16-23 on the IOAPIC); MSI routes use GSIs from 24 up.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "bulwark/common/result.h"

namespace bulwark::kvm {

inline constexpr uint32_t kFirstMsiGsi = 24;   // after the IOAPIC's 24 pins
inline constexpr uint32_t kMsiGsiLimit = 1024;  // well below KVM_MAX_IRQ_ROUTES (4096)

// The irqchip routes of KVM's default table (what a VM with KVM_CREATE_IRQCHIP starts with).
std::vector<kvm_irq_routing_entry> default_irqchip_routes();
kvm_irq_routing_entry msi_route(uint32_t gsi, uint64_t address, uint32_t data);
// A struct kvm_irq_routing in the kernel's C layout (8-byte header, entries at offset 8),
// as 8-byte words so the entries are suitably aligned.
std::vector<uint64_t> encode_routing_table(std::span<const kvm_irq_routing_entry> entries);

class GsiRouting {
 public:
  explicit GsiRouting(int vm_fd) : vm_fd_(vm_fd) {}

  // A GSI for an MSI route (not yet routed). Error when the range is used up.
  Result<uint32_t> allocate_msi_gsi();
  // Routes an allocated GSI to an MSI message and installs the table.
  Status set_msi_route(uint32_t gsi, uint64_t address, uint32_t data);
  // Removes the GSI's route (it stays allocated) and installs the table.
  Status clear_route(uint32_t gsi);
  size_t msi_route_count() const { return msi_routes_.size(); }

 private:
  Status install() const;

  int vm_fd_;
  uint32_t next_gsi_ = kFirstMsiGsi;
  std::map<uint32_t, kvm_irq_routing_entry> msi_routes_;
};

// KVM_SIGNAL_MSI: delivers one MSI now. Ok also when the guest has it blocked (returns 0).
Status signal_msi(int vm_fd, uint64_t address, uint32_t data);

}  // namespace bulwark::kvm
