#include "monitor/vmm/register_dump.h"

#include <cstdio>

namespace bulwark::vmm {
namespace {
std::string segment(const char* name, const kvm_segment& s) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%s=%04x(base=%llx dpl=%u l=%u)", name, s.selector,
                static_cast<unsigned long long>(s.base), s.dpl, s.l);
  return buf;
}
}  // namespace

std::string register_dump(const kvm::Vcpu& vcpu) {
  auto regs = vcpu.get_regs();
  auto sregs = vcpu.get_sregs();
  if (!regs.ok() || !sregs.ok()) return "vCPU " + std::to_string(vcpu.index()) + ": registers unavailable";
  const kvm_regs& r = *regs;
  const kvm_sregs& s = *sregs;
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "vCPU %u registers:\n"
                "  rip=%016llx rsp=%016llx rflags=%016llx\n"
                "  rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx\n"
                "  rsi=%016llx rdi=%016llx rbp=%016llx r8=%016llx\n"
                "  r9=%016llx r10=%016llx r11=%016llx r12=%016llx\n"
                "  r13=%016llx r14=%016llx r15=%016llx\n"
                "  cr0=%016llx cr2=%016llx cr3=%016llx cr4=%016llx efer=%016llx\n"
                "  gdt=%llx/%x idt=%llx/%x\n",
                vcpu.index(), r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.r8, r.r9,
                r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, s.cr0, s.cr2, s.cr3, s.cr4, s.efer,
                static_cast<unsigned long long>(s.gdt.base), s.gdt.limit,
                static_cast<unsigned long long>(s.idt.base), s.idt.limit);
  return std::string(buf) + "  " + segment("cs", s.cs) + " " + segment("ss", s.ss) + " " + segment("ds", s.ds);
}

}  // namespace bulwark::vmm
