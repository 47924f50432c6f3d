// The host's KVM: opens /dev/kvm and checks the API version and every capability the monitor
// relies on, so a host that cannot run a VM is refused with one clear message up front.
#pragma once

#include <linux/kvm.h>

#include <string>
#include <vector>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"

namespace bulwark::kvm {

class KvmSystem {
 public:
  // Any error here means "this host cannot run VMs" (the monitor exits kExitKvmUnavailable).
  static Result<KvmSystem> open(const std::string& device_path = "/dev/kvm");

  int fd() const { return fd_.get(); }
  int vcpu_mmap_size() const { return vcpu_mmap_size_; }
  // KVM_CHECK_EXTENSION: > 0 when present (some capabilities return a count).
  int check_extension(long capability) const;
  // CPUID the host's KVM can expose to a guest.
  Result<std::vector<kvm_cpuid_entry2>> supported_cpuid() const;

 private:
  explicit KvmSystem(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
  int vcpu_mmap_size_ = 0;
};

}  // namespace bulwark::kvm
