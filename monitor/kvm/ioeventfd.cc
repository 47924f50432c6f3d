#include "monitor/kvm/ioeventfd.h"

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <cerrno>

namespace bulwark::kvm {
namespace {

Status ioeventfd(int vm_fd, uint64_t gpa, uint32_t length, int eventfd, bool assign) {
  if (length != 0 && length != 1 && length != 2 && length != 4 && length != 8)
    return Error("ioeventfd length " + std::to_string(length) + " is not 0, 1, 2, 4 or 8");
  kvm_ioeventfd request{};
  request.addr = gpa;
  request.len = length;
  request.fd = eventfd;
  request.flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN;
  if (::ioctl(vm_fd, KVM_IOEVENTFD, &request) != 0)
    return Error::from_errno(assign ? "KVM_IOEVENTFD assign" : "KVM_IOEVENTFD deassign", errno);
  return ok_status();
}

}  // namespace

Status assign_mmio_ioeventfd(int vm_fd, uint64_t gpa, uint32_t length, int eventfd) {
  return ioeventfd(vm_fd, gpa, length, eventfd, true);
}

Status deassign_mmio_ioeventfd(int vm_fd, uint64_t gpa, uint32_t length, int eventfd) {
  return ioeventfd(vm_fd, gpa, length, eventfd, false);
}

}  // namespace bulwark::kvm
