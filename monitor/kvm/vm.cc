#include "monitor/kvm/vm.h"

#include <sys/ioctl.h>

#include <cerrno>
#include <cstdint>

#include "monitor/boot/guest_layout.h"

namespace bulwark::kvm {

Result<Vm> Vm::create(const KvmSystem& system, const GuestMemory& memory) {
  UniqueFd fd(::ioctl(system.fd(), KVM_CREATE_VM, 0));
  if (!fd.valid()) return Error::from_errno("KVM_CREATE_VM", errno);
  Vm vm(std::move(fd));
  // Intel VMX needs three pages for a real-mode TSS and one for an identity map, both in
  // guest-physical space that is not RAM: they go in the MMIO hole.
  if (::ioctl(vm.fd(), KVM_SET_TSS_ADDR, boot::kKvmTssAddr) != 0)
    return Error::from_errno("KVM_SET_TSS_ADDR", errno);
  uint64_t identity_map = boot::kKvmIdentityMapAddr;
  if (::ioctl(vm.fd(), KVM_SET_IDENTITY_MAP_ADDR, &identity_map) != 0)
    return Error::from_errno("KVM_SET_IDENTITY_MAP_ADDR", errno);
  if (::ioctl(vm.fd(), KVM_CREATE_IRQCHIP, 0) != 0) return Error::from_errno("KVM_CREATE_IRQCHIP", errno);
  kvm_pit_config pit{};
  pit.flags = KVM_PIT_SPEAKER_DUMMY;
  if (::ioctl(vm.fd(), KVM_CREATE_PIT2, &pit) != 0) return Error::from_errno("KVM_CREATE_PIT2", errno);

  const auto& ranges = memory.layout().ram_ranges();
  for (size_t i = 0; i < ranges.size(); ++i) {
    kvm_userspace_memory_region region{};
    region.slot = static_cast<uint32_t>(i);
    region.guest_phys_addr = ranges[i].guest_addr;
    region.memory_size = ranges[i].size;
    region.userspace_addr = reinterpret_cast<uint64_t>(memory.host_address_of_range(i));
    if (::ioctl(vm.fd(), KVM_SET_USER_MEMORY_REGION, &region) != 0)
      return Error::from_errno("KVM_SET_USER_MEMORY_REGION slot " + std::to_string(i), errno);
  }
  return vm;
}

Status Vm::set_irq_line(uint32_t gsi, bool level) const {
  kvm_irq_level irq{};
  irq.irq = gsi;
  irq.level = level ? 1 : 0;
  if (::ioctl(fd(), KVM_IRQ_LINE, &irq) != 0) return Error::from_errno("KVM_IRQ_LINE", errno);
  return ok_status();
}

}  // namespace bulwark::kvm
