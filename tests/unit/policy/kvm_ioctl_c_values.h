// KVM ioctl numbers as the C compiler computes them (see kvm_ioctl_c_values.c).
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

struct KvmIoctlCValue {
  const char* name;
  unsigned long value;
};
extern const struct KvmIoctlCValue kKvmIoctlCValues[];
extern const unsigned kKvmIoctlCValueCount;

#ifdef __cplusplus
}
#endif
