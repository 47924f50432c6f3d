#include "monitor/cpu/cpu_template.h"

#include <gtest/gtest.h>

namespace bulwark::cpu {
namespace {

kvm_cpuid_entry2 entry(uint32_t function, uint32_t index, uint32_t ebx, uint32_t ecx, uint32_t edx = 0) {
  kvm_cpuid_entry2 e{};
  e.function = function;
  e.index = index;
  e.ebx = ebx;
  e.ecx = ecx;
  e.edx = edx;
  if (function == 7) e.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
  return e;
}

const kvm_cpuid_entry2* find(const std::vector<kvm_cpuid_entry2>& v, uint32_t function) {
  for (const auto& e : v)
    if (e.function == function) return &e;
  return nullptr;
}

TEST(CpuTemplate, DefaultAndHostAreListedAndUnknownNamesAreNot) {
  ASSERT_NE(find_cpu_template("default"), nullptr);
  ASSERT_NE(find_cpu_template("host"), nullptr);
  EXPECT_EQ(find_cpu_template("Default"), nullptr);
  EXPECT_EQ(find_cpu_template(""), nullptr);
  const std::string listing = describe_cpu_templates();
  EXPECT_NE(listing.find("default"), std::string::npos);
  EXPECT_NE(listing.find("host"), std::string::npos);
}

TEST(CpuTemplate, DefaultClearsEveryFeatureTheEmulatorRejects) {
  const CpuTemplate& t = *find_cpu_template("default");
  std::vector<kvm_cpuid_entry2> all_set = {entry(1, 0, 0, 0xffffffff, 0xffffffff), entry(7, 0, 0xffffffff, 0xffffffff)};
  const auto out = cpuid_for_vcpu(t, all_set, 0, 1);
  const auto* leaf1 = find(out, 1);
  const auto* leaf7 = find(out, 7);
  ASSERT_TRUE(leaf1 && leaf7);
  EXPECT_EQ(leaf1->ecx & (1u << 13), 0u) << "cx16";
  EXPECT_EQ(leaf1->ecx & (1u << 26), 0u) << "xsave";
  EXPECT_EQ(leaf1->ecx & (1u << 23), 0u) << "popcnt";
  EXPECT_EQ(leaf7->ebx & (1u << 20), 0u) << "smap";
  EXPECT_NE(leaf1->ecx & (1u << 31), 0u) << "hypervisor bit set";
  EXPECT_TRUE(features_still_visible(t, out).empty());
}

TEST(CpuTemplate, HostTemplateChangesNoFeatureBits) {
  const CpuTemplate& t = *find_cpu_template("host");
  std::vector<kvm_cpuid_entry2> in = {entry(7, 0, 0x12345678, 0x9abcdef0)};
  const auto out = cpuid_for_vcpu(t, in, 0, 1);
  EXPECT_EQ(out[0].ebx, 0x12345678u);
  EXPECT_EQ(out[0].ecx, 0x9abcdef0u);
}

TEST(CpuTemplate, TopologyFieldsNameEachVcpu) {
  const CpuTemplate& t = *find_cpu_template("default");
  std::vector<kvm_cpuid_entry2> in = {entry(1, 0, 0xff00ffff, 0), entry(0xb, 0, 0, 0, 0)};
  const auto out = cpuid_for_vcpu(t, in, 3, 4);
  EXPECT_EQ(find(out, 1)->ebx >> 24, 3u) << "initial APIC id";
  EXPECT_EQ((find(out, 1)->ebx >> 16) & 0xff, 4u) << "logical processor count";
  EXPECT_EQ(find(out, 0xb)->edx, 3u) << "x2APIC id";
}

TEST(CpuTemplate, FeaturesKvmKeptAreReportedAndBecomeKernelArguments) {
  const CpuTemplate& t = *find_cpu_template("default");
  // As on a host whose KVM reports XSAVE and SMAP whatever the monitor writes.
  std::vector<kvm_cpuid_entry2> effective = {entry(1, 0, 0, 1u << 26), entry(7, 0, 1u << 20, 0)};
  const auto visible = features_still_visible(t, effective);
  ASSERT_EQ(visible.size(), 2u);
  EXPECT_EQ(linux_args_disabling(visible), "noxsave clearcpuid=smap");
}

}  // namespace
}  // namespace bulwark::cpu
