// KVM ioctls whose argument ends in a flexible array. The UAPI headers declare those arrays
// with __DECLARE_FLEX_ARRAY, which in C++ adds a one-byte empty member: sizeof() and the
// array's offset then differ from the kernel's C layout, and so do the ioctl numbers derived
// from sizeof(). These definitions use the kernel's layout: an 8-byte header, entries at 8.
#pragma once

#include <linux/kvm.h>

#include <cstdint>

namespace bulwark::kvm::abi {

struct CountHeader {  // kvm_cpuid2 {nent, padding} and kvm_msrs {nmsrs, pad}
  uint32_t count;
  uint32_t padding;
};
static_assert(sizeof(CountHeader) == 8);
inline constexpr size_t kEntriesOffset = sizeof(CountHeader);

inline constexpr unsigned long kGetSupportedCpuid = _IOWR(KVMIO, 0x05, CountHeader);
inline constexpr unsigned long kSetCpuid2 = _IOW(KVMIO, 0x90, CountHeader);
inline constexpr unsigned long kGetCpuid2 = _IOWR(KVMIO, 0x91, CountHeader);
inline constexpr unsigned long kGetMsrs = _IOWR(KVMIO, 0x88, CountHeader);
inline constexpr unsigned long kSetMsrs = _IOW(KVMIO, 0x89, CountHeader);

static_assert(sizeof(kvm_cpuid_entry2) == 40);
static_assert(sizeof(kvm_msr_entry) == 16);

}  // namespace bulwark::kvm::abi
