// Named constants: the KVM ioctl numbers must be the kernel's (C) numbers, not the ones a C++
// compiler derives from the UAPI's flexible-array structs.
#include "policy/seccomp_policy/named_constants.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/ioctl.h>

#include <map>
#include <string>

#include "tests/unit/policy/kvm_ioctl_c_values.h"

namespace bulwark::policy {
namespace {

uint64_t constant(std::string_view name) {
  std::optional<uint64_t> value = find_named_constant(name);
  EXPECT_TRUE(value.has_value()) << name;
  return value.value_or(0xdeadbeef);
}

TEST(NamedConstants, FlexibleArrayKvmIoctlsHaveTheKernelNumbers) {
  EXPECT_EQ(constant("KVM_GET_CPUID2"), 0xc008ae91u);
  EXPECT_EQ(constant("KVM_SET_CPUID2"), 0x4008ae90u);
  EXPECT_EQ(constant("KVM_GET_MSRS"), 0xc008ae88u);
  EXPECT_EQ(constant("KVM_SET_MSRS"), 0x4008ae89u);
  EXPECT_EQ(constant("KVM_GET_SUPPORTED_CPUID"), 0xc008ae05u);
  EXPECT_EQ(constant("KVM_GET_MSR_INDEX_LIST"), 0xc004ae02u);
  EXPECT_EQ(constant("KVM_SET_GSI_ROUTING"), 0x4008ae6au);
  EXPECT_EQ(constant("KVM_SET_SIGNAL_MASK"), 0x4004ae8bu);
  EXPECT_EQ(constant("KVM_GET_XSAVE"), 0x9000aea4u);
}

TEST(NamedConstants, CommonKvmIoctls) {
  EXPECT_EQ(constant("KVM_RUN"), 0xae80u);
  EXPECT_EQ(constant("KVM_CREATE_VM"), 0xae01u);
  EXPECT_EQ(constant("KVM_CHECK_EXTENSION"), 0xae03u);
  EXPECT_EQ(constant("KVM_CREATE_VCPU"), 0xae41u);
  EXPECT_EQ(constant("KVM_GET_REGS"), 0x8090ae81u);
  EXPECT_EQ(constant("KVM_SET_REGS"), 0x4090ae82u);
  EXPECT_EQ(constant("KVM_GET_SREGS"), 0x8138ae83u);
  EXPECT_EQ(constant("KVM_SET_SREGS"), 0x4138ae84u);
  EXPECT_EQ(constant("KVM_IRQ_LINE"), 0x4008ae61u);
  EXPECT_EQ(constant("KVM_GET_TSC_KHZ"), 0xaea3u);
}

// Every KVM ioctl in the table equals what a C compiler computes from <linux/kvm.h>, and the
// C list covers every KVM ioctl in the table (so a new one cannot skip this check).
TEST(NamedConstants, EveryKvmIoctlMatchesTheCValue) {
  std::map<std::string, unsigned long> c_values;
  for (unsigned i = 0; i < kKvmIoctlCValueCount; ++i) {
    c_values[kKvmIoctlCValues[i].name] = kKvmIoctlCValues[i].value;
  }
  EXPECT_GE(c_values.size(), 60u);
  for (const auto& [name, value] : c_values) {
    EXPECT_EQ(constant(name), value) << name;
  }
  for (const NamedConstant& entry : named_constants()) {
    const bool kvm_ioctl =
        entry.name.rfind("KVM_", 0) == 0 && entry.name.rfind("KVM_CAP_", 0) != 0;
    if (kvm_ioctl) {
      EXPECT_EQ(c_values.count(std::string(entry.name)), 1u) << entry.name;
    }
  }
}

TEST(NamedConstants, FlagsAndCommands) {
  EXPECT_EQ(constant("PROT_READ"), 1u);
  EXPECT_EQ(constant("PROT_EXEC"), 4u);
  EXPECT_EQ(constant("MAP_SHARED"), 1u);
  EXPECT_EQ(constant("MAP_ANONYMOUS"), 0x20u);
  EXPECT_EQ(constant("O_CREAT"), 0x40u);
  EXPECT_EQ(constant("O_ACCMODE"), 3u);
  EXPECT_EQ(constant("O_CLOEXEC"), 0x80000u);
  EXPECT_EQ(constant("F_SETFL"), 4u);
  EXPECT_EQ(constant("F_ADD_SEALS"), 1033u);
  EXPECT_EQ(constant("MFD_CLOEXEC"), 1u);
  EXPECT_EQ(constant("FUTEX_WAIT_PRIVATE"), 128u);
  EXPECT_EQ(constant("FUTEX_WAKE_PRIVATE"), 129u);
  EXPECT_EQ(constant("CLONE_THREAD"), 0x10000u);
  EXPECT_EQ(constant("CLONE_IO"), 0x80000000u);  // not sign-extended: the C value is unsigned
  EXPECT_EQ(constant("SIGSYS"), 31u);
  EXPECT_EQ(constant("TCGETS"), 0x5401u);
  EXPECT_EQ(constant("TIOCGWINSZ"), uint64_t{TIOCGWINSZ});
  EXPECT_EQ(constant("FIONREAD"), uint64_t{FIONREAD});
}

TEST(NamedConstants, NegativeValuesAreSignExtendedLikeTheRegister) {
  EXPECT_EQ(constant("AT_FDCWD"), 0xffffffffffffff9cu);
  EXPECT_EQ(static_cast<int64_t>(constant("AT_FDCWD")), AT_FDCWD);
}

TEST(NamedConstants, TableIsSortedUniqueAndLookupIsExact) {
  const auto table = named_constants();
  EXPECT_GT(table.size(), 300u);
  for (size_t i = 1; i < table.size(); ++i) EXPECT_LT(table[i - 1].name, table[i].name);
  for (const NamedConstant& entry : table) EXPECT_EQ(find_named_constant(entry.name), entry.value);
  EXPECT_FALSE(find_named_constant("KVM_RUNX").has_value());
  EXPECT_FALSE(find_named_constant("KVM_RU").has_value());
  EXPECT_FALSE(find_named_constant("kvm_run").has_value());
  EXPECT_FALSE(find_named_constant("").has_value());
}

}  // namespace
}  // namespace bulwark::policy
