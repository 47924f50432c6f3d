#include "monitor/virtio_pci/kvm_transport_actions.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "monitor/kvm/ioeventfd.h"
#include "monitor/kvm/irqfd.h"

namespace bulwark::virtio_pci {
namespace {
constexpr uint32_t kAnyWidth = 0;  // ioeventfd length 0: any write width
}  // namespace

Result<UniqueFd> KvmTransportActions::create_eventfd() {
  UniqueFd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!fd.valid()) return Error::from_errno("eventfd", errno);
  return fd;
}

void KvmTransportActions::signal_eventfd(int fd) {
  const uint64_t one = 1;
  // Non-blocking: a counter at its maximum already means "kicked".
  while (::write(fd, &one, sizeof(one)) < 0 && errno == EINTR) {
  }
}

Status KvmTransportActions::add_ioeventfd(uint64_t gpa, int fd) {
  return kvm::assign_mmio_ioeventfd(vm_fd_, gpa, kAnyWidth, fd);
}

Status KvmTransportActions::remove_ioeventfd(uint64_t gpa, int fd) {
  return kvm::deassign_mmio_ioeventfd(vm_fd_, gpa, kAnyWidth, fd);
}

Result<uint32_t> KvmTransportActions::allocate_gsi() { return routing_.allocate_msi_gsi(); }

Status KvmTransportActions::set_msi_route(uint32_t gsi, const pci::MsiMessage& message) {
  return routing_.set_msi_route(gsi, message.address, message.data);
}

Status KvmTransportActions::assign_irqfd(uint32_t gsi, int fd) { return kvm::assign_irqfd(vm_fd_, gsi, fd); }

Status KvmTransportActions::deassign_irqfd(uint32_t gsi, int fd) { return kvm::deassign_irqfd(vm_fd_, gsi, fd); }

Status KvmTransportActions::signal_msi(const pci::MsiMessage& message) {
  return kvm::signal_msi(vm_fd_, message.address, message.data);
}

}  // namespace bulwark::virtio_pci
