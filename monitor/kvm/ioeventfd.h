// KVM_IOEVENTFD on guest-physical MMIO addresses: a guest write there signals an eventfd
// inside KVM, with no exit to the monitor (virtio queue notifications). Datamatch is off, so
// any value counts; length 0 matches writes of any width (and takes KVM's fast MMIO path).
#pragma once

#include <cstdint>

#include "bulwark/common/result.h"

namespace bulwark::kvm {

Status assign_mmio_ioeventfd(int vm_fd, uint64_t gpa, uint32_t length, int eventfd);
Status deassign_mmio_ioeventfd(int vm_fd, uint64_t gpa, uint32_t length, int eventfd);

}  // namespace bulwark::kvm
