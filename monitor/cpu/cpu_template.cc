#include "monitor/cpu/cpu_template.h"

#include <algorithm>

namespace bulwark::cpu {
namespace {

using R = CpuidRegister;

// What KVM's instruction emulator cannot execute (measured on hosts where KVM runs guest
// kernel code in its emulator), plus the features whose instructions a kernel would otherwise
// pick for crypto, string and bit operations. Everything here is optional for x86-64 Linux.
constexpr CpuFeature kDefaultHidden[] = {
    {"cx16", 1, 0, R::kEcx, 13, "", "CMPXCHG16B is rejected by KVM's emulator"},
    {"xsave", 1, 0, R::kEcx, 26, "noxsave", "XSAVE/XRSTOR are rejected by KVM's emulator"},
    {"avx", 1, 0, R::kEcx, 28, "", "needs XSAVE; AVX instructions are not emulated"},
    {"popcnt", 1, 0, R::kEcx, 23, "", "POPCNT is rejected by KVM's emulator"},
    {"ssse3", 1, 0, R::kEcx, 9, "", "kernel crypto/string code would use it; not emulated"},
    {"sse4_1", 1, 0, R::kEcx, 19, "", "kernel crypto/string code would use it; not emulated"},
    {"sse4_2", 1, 0, R::kEcx, 20, "", "CRC32 and string instructions; not emulated"},
    {"aes", 1, 0, R::kEcx, 25, "", "AES-NI; not emulated"},
    {"pclmulqdq", 1, 0, R::kEcx, 1, "", "carry-less multiply; not emulated"},
    {"smep", 7, 0, R::kEbx, 7, "", "supervisor-mode execution protection, hidden with SMAP for a uniform CPU"},
    {"smap", 7, 0, R::kEbx, 20, "", "CLAC/STAC are rejected by KVM's emulator"},
    {"fsgsbase", 7, 0, R::kEbx, 0, "", "RD/WRFSBASE from the kernel; not emulated"},
    {"umip", 7, 0, R::kEcx, 2, "", "user-mode instruction prevention; not needed"},
    {"pku", 7, 0, R::kEcx, 3, "", "protection keys need XSAVE"},
};

constexpr CpuTemplate kTemplates[] = {
    {"default",
     "hides the features KVM's instruction emulator cannot run (CX16, XSAVE/AVX, POPCNT, SMAP/SMEP, "
     "SSSE3/SSE4, AES, PCLMULQDQ, FSGSBASE, UMIP, PKU); boots stock Linux on every host",
     kDefaultHidden},
    {"host", "everything the host's KVM supports, unchanged (real hardware virtualization only)", {}},
};

uint32_t& register_of(kvm_cpuid_entry2& e, CpuidRegister reg) {
  switch (reg) {
    case R::kEax: return e.eax;
    case R::kEbx: return e.ebx;
    case R::kEcx: return e.ecx;
    case R::kEdx: break;
  }
  return e.edx;
}

uint32_t register_of(const kvm_cpuid_entry2& e, CpuidRegister reg) {
  return register_of(const_cast<kvm_cpuid_entry2&>(e), reg);
}

bool matches(const kvm_cpuid_entry2& e, uint32_t leaf, uint32_t subleaf) {
  if (e.function != leaf) return false;
  return (e.flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) == 0 || e.index == subleaf;
}

constexpr uint32_t kHypervisorBit = 1u << 31;  // leaf 1 ECX

}  // namespace

std::span<const CpuTemplate> cpu_templates() { return kTemplates; }

const CpuTemplate* find_cpu_template(std::string_view name) {
  for (const CpuTemplate& t : kTemplates)
    if (t.name == name) return &t;
  return nullptr;
}

std::string describe_cpu_templates() {
  std::string text;
  for (const CpuTemplate& t : kTemplates) {
    text += "  " + std::string(t.name);
    text += std::string(t.name.size() < 10 ? 10 - t.name.size() : 1, ' ');
    text += std::string(t.description) + "\n";
  }
  return text;
}

std::vector<kvm_cpuid_entry2> cpuid_for_vcpu(const CpuTemplate& tmpl, std::vector<kvm_cpuid_entry2> entries,
                                             uint32_t vcpu_index, uint32_t vcpu_count) {
  for (kvm_cpuid_entry2& e : entries) {
    for (const CpuFeature& f : tmpl.hidden)
      if (matches(e, f.leaf, f.subleaf)) register_of(e, f.reg) &= ~(1u << f.bit);
    if (e.function == 1) {
      // EBX[31:24] initial APIC id, EBX[23:16] logical processors per package.
      e.ebx = (e.ebx & 0x0000ffffu) | (vcpu_index << 24) | ((vcpu_count & 0xffu) << 16);
      e.ecx |= kHypervisorBit;
      if (vcpu_count > 1) e.edx |= 1u << 28;  // HTT: the EBX count is valid
    }
    if (e.function == 0xb || e.function == 0x1f) e.edx = vcpu_index;  // x2APIC id
  }
  return entries;
}

std::vector<CpuFeature> features_still_visible(const CpuTemplate& tmpl,
                                               const std::vector<kvm_cpuid_entry2>& effective) {
  std::vector<CpuFeature> visible;
  for (const CpuFeature& f : tmpl.hidden) {
    const bool set = std::any_of(effective.begin(), effective.end(), [&](const kvm_cpuid_entry2& e) {
      return matches(e, f.leaf, f.subleaf) && (register_of(e, f.reg) & (1u << f.bit)) != 0;
    });
    if (set) visible.push_back(f);
  }
  return visible;
}

std::string linux_args_disabling(const std::vector<CpuFeature>& features) {
  std::string args;
  std::string clear;
  for (const CpuFeature& f : features) {
    if (!f.linux_disable_arg.empty()) {
      if (args.find(f.linux_disable_arg) == std::string::npos)
        args += (args.empty() ? "" : " ") + std::string(f.linux_disable_arg);
    } else {
      clear += (clear.empty() ? "" : ",") + std::string(f.name);
    }
  }
  if (!clear.empty()) args += (args.empty() ? "" : " ") + std::string("clearcpuid=") + clear;
  return args;
}

}  // namespace bulwark::cpu
