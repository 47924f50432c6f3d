#include "monitor/kvm/irqfd.h"

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <cerrno>

namespace bulwark::kvm {
namespace {

Status irqfd(int vm_fd, uint32_t gsi, int eventfd, bool assign) {
  kvm_irqfd request{};
  request.fd = static_cast<uint32_t>(eventfd);
  request.gsi = gsi;
  request.flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN;
  if (::ioctl(vm_fd, KVM_IRQFD, &request) != 0)
    return Error::from_errno(assign ? "KVM_IRQFD assign" : "KVM_IRQFD deassign", errno);
  return ok_status();
}

}  // namespace

Status assign_irqfd(int vm_fd, uint32_t gsi, int eventfd) { return irqfd(vm_fd, gsi, eventfd, true); }

Status deassign_irqfd(int vm_fd, uint32_t gsi, int eventfd) { return irqfd(vm_fd, gsi, eventfd, false); }

}  // namespace bulwark::kvm
