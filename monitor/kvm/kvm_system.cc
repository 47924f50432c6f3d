#include "monitor/kvm/kvm_system.h"

#include "monitor/kvm/kvm_abi.h"

#include <fcntl.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

namespace bulwark::kvm {
namespace {

struct RequiredCapability {
  long id;
  const char* name;
};

// Everything the monitor uses; listed together so a missing one is named, not discovered late.
constexpr RequiredCapability kRequiredCapabilities[] = {
    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
    {KVM_CAP_PIT2, "KVM_CAP_PIT2"},
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
    {KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
    {KVM_CAP_VCPU_EVENTS, "KVM_CAP_VCPU_EVENTS"},
    {KVM_CAP_SET_GUEST_DEBUG, "KVM_CAP_SET_GUEST_DEBUG"},
    {KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING"},
    {KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD"},
    {KVM_CAP_IRQFD, "KVM_CAP_IRQFD"},
};

}  // namespace

Result<KvmSystem> KvmSystem::open(const std::string& device_path) {
  UniqueFd fd(::open(device_path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.valid()) {
    const int err = errno;
    std::string hint;
    if (err == ENOENT) hint = " (is the kvm module loaded? does this machine support virtualization?)";
    if (err == EACCES || err == EPERM) hint = " (the monitor needs read-write access to it)";
    return Error("KVM unavailable: cannot open " + device_path + ": " + std::strerror(err) + hint);
  }
  KvmSystem system(std::move(fd));
  const int version = ::ioctl(system.fd(), KVM_GET_API_VERSION, 0);
  if (version != KVM_API_VERSION) {
    return Error("KVM unavailable: " + device_path + " reports API version " + std::to_string(version) +
                 ", the monitor needs " + std::to_string(KVM_API_VERSION));
  }
  std::string missing;
  for (const RequiredCapability& cap : kRequiredCapabilities) {
    if (system.check_extension(cap.id) <= 0) missing += std::string(missing.empty() ? "" : ", ") + cap.name;
  }
  if (!missing.empty()) return Error("KVM unavailable: the host's KVM lacks required capabilities: " + missing);
  system.vcpu_mmap_size_ = ::ioctl(system.fd(), KVM_GET_VCPU_MMAP_SIZE, 0);
  if (system.vcpu_mmap_size_ < static_cast<int>(sizeof(kvm_run)))
    return Error::from_errno("KVM unavailable: KVM_GET_VCPU_MMAP_SIZE", errno);
  return system;
}

int KvmSystem::check_extension(long capability) const {
  return ::ioctl(fd(), KVM_CHECK_EXTENSION, capability);
}

Result<std::vector<kvm_cpuid_entry2>> KvmSystem::supported_cpuid() const {
  // Grow the buffer until KVM stops answering E2BIG. Layout as in kvm_abi.h.
  for (uint32_t count = 64; count <= 4096; count *= 2) {
    const size_t bytes = abi::kEntriesOffset + count * sizeof(kvm_cpuid_entry2);
    auto buffer = std::make_unique<uint64_t[]>(bytes / sizeof(uint64_t) + 1);
    auto* header = reinterpret_cast<abi::CountHeader*>(buffer.get());
    header->count = count;
    if (::ioctl(fd(), abi::kGetSupportedCpuid, buffer.get()) == 0) {
      const auto* first = reinterpret_cast<const kvm_cpuid_entry2*>(reinterpret_cast<const uint8_t*>(buffer.get()) +
                                                                   abi::kEntriesOffset);
      return std::vector<kvm_cpuid_entry2>(first, first + std::min(header->count, count));
    }
    if (errno != E2BIG) return Error::from_errno("KVM_GET_SUPPORTED_CPUID", errno);
  }
  return Error("KVM_GET_SUPPORTED_CPUID: more than 4096 entries");
}

}  // namespace bulwark::kvm
