// One vCPU: its fd, its shared kvm_run page, and typed register access.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"
#include "monitor/kvm/kvm_system.h"
#include "monitor/kvm/vm.h"

namespace bulwark::kvm {

class Vcpu {
 public:
  static Result<Vcpu> create(const KvmSystem& system, const Vm& vm, uint32_t index);
  ~Vcpu();
  Vcpu(Vcpu&& other) noexcept;
  Vcpu& operator=(Vcpu&&) = delete;
  Vcpu(const Vcpu&) = delete;

  uint32_t index() const { return index_; }
  int fd() const { return fd_.get(); }
  kvm_run* run_page() const { return run_; }

  // KVM_RUN; returns the ioctl's errno (0 on success) so the caller can treat EINTR/EAGAIN.
  int run();

  Result<kvm_regs> get_regs() const;
  Status set_regs(const kvm_regs& regs) const;
  Result<kvm_sregs> get_sregs() const;
  Status set_sregs(const kvm_sregs& sregs) const;
  Result<uint64_t> get_msr(uint32_t index) const;
  Status set_msr(uint32_t index, uint64_t value) const;
  Status set_cpuid(const std::vector<kvm_cpuid_entry2>& entries) const;
  Result<std::vector<kvm_cpuid_entry2>> get_cpuid() const;
  Result<kvm_vcpu_events> get_events() const;
  Status set_events(const kvm_vcpu_events& events) const;
  Status set_guest_debug(const kvm_guest_debug& debug) const;
  Result<uint32_t> tsc_khz() const;
  // The vCPU's TSC offset (guest TSC = scaled host TSC + offset), as KVM_VCPU_TSC_OFFSET in
  // group KVM_VCPU_TSC_CTRL through KVM_{GET,SET}_DEVICE_ATTR. Kernels before 5.16 lack the
  // attribute: ENXIO.
  Result<uint64_t> tsc_offset() const;
  Status set_tsc_offset(uint64_t offset) const;
  // Moves the guest's TSC back by `cycles` (modulo 2^64, as KVM's signed offset): read,
  // subtract, write, and read back: an error also when KVM accepted the write but ignored it.
  Status rewind_tsc(uint64_t cycles) const;

 private:
  Vcpu(UniqueFd fd, uint32_t index, kvm_run* run, size_t run_size)
      : fd_(std::move(fd)), index_(index), run_(run), run_size_(run_size) {}
  UniqueFd fd_;
  uint32_t index_;
  kvm_run* run_ = nullptr;
  size_t run_size_ = 0;
};

}  // namespace bulwark::kvm
