// Workarounds for hosts whose KVM runs guest kernel code in its instruction emulator (e.g. a
// KVM that is itself a PVM guest). Everything host-specific lives here:
// - completing the few instructions the emulator rejects that guests legitimately use
//   (INT3, FWAIT, CLAC/STAC, SWAPGS; see cpu/emulation_fixup.h) — harmless elsewhere, as real
//   hardware never reports them;
// - the user-mode SYSCALL bug (only when enabled): the host sets RIP/RCX/R11/RFLAGS but leaves
//   CS/SS at user privilege, so the fetch at LSTAR page-faults into the guest. A hardware
//   breakpoint on the guest's #PF handler (IDT vector 14) lets the monitor spot that fault
//   (frame RIP == LSTAR, frame CS at CPL 3) and finish the SYSCALL instead, touching no guest
//   memory.
#pragma once

#include <linux/kvm.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "bulwark/common/result.h"
#include "monitor/kvm/guest_memory.h"
#include "monitor/kvm/vcpu.h"

namespace bulwark::vmm {

struct QuirkCounters {
  std::atomic<uint64_t> instructions_completed{0};
  std::atomic<uint64_t> syscalls_completed{0};
  std::atomic<uint64_t> page_faults_passed_through{0};
};

class EmulatedHostQuirks {
 public:
  // True when this host's KVM is known to emulate guest kernel code (kvm_pvm loaded).
  static bool detected_on_this_host();

  EmulatedHostQuirks(const kvm::GuestMemory& memory, bool syscall_fix) : memory_(memory), syscall_fix_(syscall_fix) {}

  struct VcpuState {
    uint64_t armed_handler = 0;
    bool stepping = false;           // single-stepping off the handler's first instruction
    std::chrono::steady_clock::time_point next_check{};
  };

  // KVM_EXIT_INTERNAL_ERROR with an emulation failure: true when completed here.
  Result<bool> complete_rejected_instruction(const kvm::Vcpu& vcpu, const kvm_run& run);
  // KVM_EXIT_DEBUG: true when it was the SYSCALL breakpoint (handled here).
  Result<bool> handle_debug_exit(const kvm::Vcpu& vcpu, const kvm_run& run, VcpuState& state);
  // Cheap, rate-limited: (re)arms the breakpoint once the guest has an IDT and LSTAR.
  void arm_syscall_fix_if_due(const kvm::Vcpu& vcpu, VcpuState& state);

  bool syscall_fix_enabled() const { return syscall_fix_; }
  const QuirkCounters& counters() const { return counters_; }

 private:
  Status inject_exception(const kvm::Vcpu& vcpu, uint8_t vector);
  Status set_breakpoint(const kvm::Vcpu& vcpu, uint64_t handler, bool single_step);
  // Lets a genuine page fault reach the guest's handler without the breakpoint firing again.
  Status pass_page_fault(const kvm::Vcpu& vcpu, kvm_regs& regs, const kvm_sregs& sregs, VcpuState& state);
  const kvm::GuestMemory& memory_;
  bool syscall_fix_;
  QuirkCounters counters_;
};

}  // namespace bulwark::vmm
