// KVM_IRQFD: an eventfd that injects the interrupt routed to a GSI when written, so device
// processes signal the guest without the monitor.
#pragma once

#include <cstdint>

#include "bulwark/common/result.h"

namespace bulwark::kvm {

Status assign_irqfd(int vm_fd, uint32_t gsi, int eventfd);
Status deassign_irqfd(int vm_fd, uint32_t gsi, int eventfd);

}  // namespace bulwark::kvm
