#include "monitor/kvm/vcpu.h"

#include "monitor/kvm/kvm_abi.h"

#include <sys/ioctl.h>
#include <sys/mman.h>

#include <cerrno>
#include <memory>
#include <string>
#include <utility>

namespace bulwark::kvm {

Result<Vcpu> Vcpu::create(const KvmSystem& system, const Vm& vm, uint32_t index) {
  UniqueFd fd(::ioctl(vm.fd(), KVM_CREATE_VCPU, static_cast<unsigned long>(index)));
  if (!fd.valid()) return Error::from_errno("KVM_CREATE_VCPU " + std::to_string(index), errno);
  const size_t size = static_cast<size_t>(system.vcpu_mmap_size());
  void* run = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (run == MAP_FAILED) return Error::from_errno("mmap of vCPU " + std::to_string(index) + " run page", errno);
  return Vcpu(std::move(fd), index, static_cast<kvm_run*>(run), size);
}

Vcpu::~Vcpu() {
  if (run_ != nullptr) ::munmap(run_, run_size_);
}

Vcpu::Vcpu(Vcpu&& other) noexcept
    : fd_(std::move(other.fd_)),
      index_(other.index_),
      run_(std::exchange(other.run_, nullptr)),
      run_size_(std::exchange(other.run_size_, 0)) {}

int Vcpu::run() { return ::ioctl(fd(), KVM_RUN, 0) == 0 ? 0 : errno; }

Result<kvm_regs> Vcpu::get_regs() const {
  kvm_regs regs{};
  if (::ioctl(fd(), KVM_GET_REGS, &regs) != 0) return Error::from_errno("KVM_GET_REGS", errno);
  return regs;
}

Status Vcpu::set_regs(const kvm_regs& regs) const {
  if (::ioctl(fd(), KVM_SET_REGS, &regs) != 0) return Error::from_errno("KVM_SET_REGS", errno);
  return ok_status();
}

Result<kvm_sregs> Vcpu::get_sregs() const {
  kvm_sregs sregs{};
  if (::ioctl(fd(), KVM_GET_SREGS, &sregs) != 0) return Error::from_errno("KVM_GET_SREGS", errno);
  return sregs;
}

Status Vcpu::set_sregs(const kvm_sregs& sregs) const {
  if (::ioctl(fd(), KVM_SET_SREGS, &sregs) != 0) return Error::from_errno("KVM_SET_SREGS", errno);
  return ok_status();
}

namespace {
// Header + entries in the kernel's layout (see kvm_abi.h), in one 8-byte-aligned buffer.
template <typename Entry>
class CountedBuffer {
 public:
  explicit CountedBuffer(size_t count)
      : storage_(std::make_unique<uint64_t[]>((abi::kEntriesOffset + count * sizeof(Entry)) / 8 + 1)) {
    header()->count = static_cast<uint32_t>(count);
  }
  abi::CountHeader* header() { return reinterpret_cast<abi::CountHeader*>(storage_.get()); }
  Entry* entries() { return reinterpret_cast<Entry*>(reinterpret_cast<uint8_t*>(storage_.get()) + abi::kEntriesOffset); }
  void* arg() { return storage_.get(); }

 private:
  std::unique_ptr<uint64_t[]> storage_;
};
}  // namespace

Result<uint64_t> Vcpu::get_msr(uint32_t index) const {
  CountedBuffer<kvm_msr_entry> msrs(1);
  msrs.entries()[0].index = index;
  if (::ioctl(fd(), abi::kGetMsrs, msrs.arg()) != 1) return Error::from_errno("KVM_GET_MSRS", errno);
  return static_cast<uint64_t>(msrs.entries()[0].data);
}

Status Vcpu::set_msr(uint32_t index, uint64_t value) const {
  CountedBuffer<kvm_msr_entry> msrs(1);
  msrs.entries()[0].index = index;
  msrs.entries()[0].data = value;
  if (::ioctl(fd(), abi::kSetMsrs, msrs.arg()) != 1) return Error::from_errno("KVM_SET_MSRS", errno);
  return ok_status();
}

Status Vcpu::set_cpuid(const std::vector<kvm_cpuid_entry2>& entries) const {
  CountedBuffer<kvm_cpuid_entry2> cpuid(entries.size());
  std::copy(entries.begin(), entries.end(), cpuid.entries());
  if (::ioctl(fd(), abi::kSetCpuid2, cpuid.arg()) != 0) return Error::from_errno("KVM_SET_CPUID2", errno);
  return ok_status();
}

Result<std::vector<kvm_cpuid_entry2>> Vcpu::get_cpuid() const {
  CountedBuffer<kvm_cpuid_entry2> cpuid(256);
  if (::ioctl(fd(), abi::kGetCpuid2, cpuid.arg()) != 0) return Error::from_errno("KVM_GET_CPUID2", errno);
  return std::vector<kvm_cpuid_entry2>(cpuid.entries(), cpuid.entries() + cpuid.header()->count);
}

Result<kvm_vcpu_events> Vcpu::get_events() const {
  kvm_vcpu_events events{};
  if (::ioctl(fd(), KVM_GET_VCPU_EVENTS, &events) != 0) return Error::from_errno("KVM_GET_VCPU_EVENTS", errno);
  return events;
}

Status Vcpu::set_events(const kvm_vcpu_events& events) const {
  if (::ioctl(fd(), KVM_SET_VCPU_EVENTS, &events) != 0) return Error::from_errno("KVM_SET_VCPU_EVENTS", errno);
  return ok_status();
}

Status Vcpu::set_guest_debug(const kvm_guest_debug& debug) const {
  if (::ioctl(fd(), KVM_SET_GUEST_DEBUG, &debug) != 0) return Error::from_errno("KVM_SET_GUEST_DEBUG", errno);
  return ok_status();
}

Result<uint32_t> Vcpu::tsc_khz() const {
  const int khz = ::ioctl(fd(), KVM_GET_TSC_KHZ, 0);
  if (khz <= 0) return Error::from_errno("KVM_GET_TSC_KHZ", errno);
  return static_cast<uint32_t>(khz);
}

namespace {
kvm_device_attr tsc_offset_attr(uint64_t* value) {
  kvm_device_attr attr{};
  attr.group = KVM_VCPU_TSC_CTRL;
  attr.attr = KVM_VCPU_TSC_OFFSET;
  attr.addr = reinterpret_cast<uint64_t>(value);
  return attr;
}
}  // namespace

Result<uint64_t> Vcpu::tsc_offset() const {
  uint64_t offset = 0;
  const kvm_device_attr attr = tsc_offset_attr(&offset);
  if (::ioctl(fd(), KVM_GET_DEVICE_ATTR, &attr) != 0) return Error::from_errno("KVM_GET_DEVICE_ATTR (TSC offset)", errno);
  return offset;
}

Status Vcpu::set_tsc_offset(uint64_t offset) const {
  const kvm_device_attr attr = tsc_offset_attr(&offset);
  if (::ioctl(fd(), KVM_SET_DEVICE_ATTR, &attr) != 0) return Error::from_errno("KVM_SET_DEVICE_ATTR (TSC offset)", errno);
  return ok_status();
}

Status Vcpu::rewind_tsc(uint64_t cycles) const {
  auto offset = tsc_offset();
  if (!offset.ok()) return offset.error();
  const uint64_t wanted = *offset - cycles;  // unsigned wrap-around is KVM's two's-complement offset
  BULWARK_TRY(set_tsc_offset(wanted));
  // Some KVMs accept the write and drop it (a guest TSC KVM cannot offset, such as PVM's):
  // read it back, so the caller knows the guest's clock still jumps.
  auto now = tsc_offset();
  if (!now.ok()) return now.error();
  if (*now != wanted) {
    return Error("KVM did not keep the TSC offset written (wrote " + std::to_string(static_cast<int64_t>(wanted)) +
                 ", reads back " + std::to_string(static_cast<int64_t>(*now)) + ")");
  }
  return ok_status();
}

}  // namespace bulwark::kvm
