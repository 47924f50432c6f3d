// The system side effects of the virtio-pci transport, behind an interface so the transport's
// state machine runs without KVM in unit tests and fuzzing (with a fake), and on KVM in the
// monitor (KvmTransportActions).
#pragma once

#include <cstdint>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"
#include "monitor/pci/msix_table.h"

namespace bulwark::virtio_pci {

class KvmActions {
 public:
  virtual ~KvmActions() = default;
  virtual Result<UniqueFd> create_eventfd() = 0;
  // Adds 1 to an eventfd's counter (a notify write that reached the monitor, not KVM).
  virtual void signal_eventfd(int fd) = 0;
  // A guest write of any width and value at `gpa` signals `fd` inside KVM.
  virtual Status add_ioeventfd(uint64_t gpa, int fd) = 0;
  virtual Status remove_ioeventfd(uint64_t gpa, int fd) = 0;
  virtual Result<uint32_t> allocate_gsi() = 0;
  virtual Status set_msi_route(uint32_t gsi, const pci::MsiMessage& message) = 0;
  virtual Status assign_irqfd(uint32_t gsi, int fd) = 0;
  virtual Status deassign_irqfd(uint32_t gsi, int fd) = 0;
  virtual Status signal_msi(const pci::MsiMessage& message) = 0;
};

}  // namespace bulwark::virtio_pci
