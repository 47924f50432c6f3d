// CPU templates: named, data-only descriptions of which CPU features a guest must not see.
// The monitor hides each one through CPUID; on hosts where KVM cannot hide a bit (it reports
// the host's value whatever the monitor writes), the feature is reported so the monitor can
// switch it off on the Linux command line instead (clearcpuid=, noxsave).
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::cpu {

enum class CpuidRegister { kEax, kEbx, kEcx, kEdx };

struct CpuFeature {
  std::string_view name;          // Linux's name for it (/proc/cpuinfo, clearcpuid=)
  uint32_t leaf;
  uint32_t subleaf;
  CpuidRegister reg;
  uint8_t bit;
  std::string_view linux_disable_arg;  // kernel argument that turns it off, e.g. "noxsave";
                                       // empty: "clearcpuid=<name>" works
  std::string_view why;           // why a template hides it
};

struct CpuTemplate {
  std::string_view name;
  std::string_view description;
  std::span<const CpuFeature> hidden;
};

std::span<const CpuTemplate> cpu_templates();
const CpuTemplate* find_cpu_template(std::string_view name);
// "  default   ...\n  host   ...\n" for --help and --list-cpu-templates.
std::string describe_cpu_templates();

// CPUID for one vCPU: the supported set with the template's features cleared, the topology
// fields (APIC id, logical processor count) filled in, and the hypervisor bit set.
std::vector<kvm_cpuid_entry2> cpuid_for_vcpu(const CpuTemplate& tmpl, std::vector<kvm_cpuid_entry2> supported,
                                             uint32_t vcpu_index, uint32_t vcpu_count);

// Features the template hides that are still visible in `effective` (read back from KVM).
std::vector<CpuFeature> features_still_visible(const CpuTemplate& tmpl,
                                               const std::vector<kvm_cpuid_entry2>& effective);

// Kernel arguments that switch `features` off inside a Linux guest, e.g. "noxsave clearcpuid=smap,popcnt".
std::string linux_args_disabling(const std::vector<CpuFeature>& features);

}  // namespace bulwark::cpu
