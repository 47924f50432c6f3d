// One KVM virtual machine: its fd, in-kernel irqchip and PIT, and guest RAM slots.
#pragma once

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"
#include "monitor/kvm/guest_memory.h"
#include "monitor/kvm/kvm_system.h"

namespace bulwark::kvm {

class Vm {
 public:
  // Creates the VM with the in-kernel IOAPIC/PIC/LAPIC and PIT, and registers guest RAM.
  static Result<Vm> create(const KvmSystem& system, const GuestMemory& memory);

  int fd() const { return fd_.get(); }
  // Sets a level on one of the in-kernel irqchip's GSI lines.
  Status set_irq_line(uint32_t gsi, bool level) const;

 private:
  explicit Vm(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace bulwark::kvm
