#include "monitor/vmm/emulated_host_quirks.h"

#include <sys/ioctl.h>
#include <sys/stat.h>

#include <cstdio>

#include "bulwark/common/hex.h"
#include "bulwark/common/log.h"
#include "monitor/cpu/emulation_fixup.h"
#include "monitor/cpu/guest_page_walk.h"
#include "monitor/vmm/x86_efer.h"

namespace bulwark::vmm {
namespace {
constexpr uint32_t kMsrStar = 0xc0000081;
constexpr uint32_t kMsrLstar = 0xc0000082;
constexpr uint32_t kMsrKernelGsBase = 0xc0000102;
constexpr uint64_t kRflagsAc = 1ULL << 18;
constexpr uint64_t kRflagsRf = 1ULL << 16;
constexpr uint8_t kVectorBreakpoint = 3;
constexpr uint8_t kVectorInvalidOpcode = 6;
constexpr uint64_t kPageFaultVector = 14;
constexpr auto kArmCheckInterval = std::chrono::milliseconds(20);

std::span<const uint64_t> internal_error_words(const kvm_run& run) {
  return {reinterpret_cast<const uint64_t*>(run.internal.data), std::size(run.internal.data)};
}

}  // namespace

bool EmulatedHostQuirks::detected_on_this_host() {
  struct stat st;
  return ::stat("/sys/module/kvm_pvm", &st) == 0;
}

Status EmulatedHostQuirks::inject_exception(const kvm::Vcpu& vcpu, uint8_t vector) {
  auto events = vcpu.get_events();
  if (!events.ok()) return events.error();
  events->exception.injected = 1;
  events->exception.nr = vector;
  events->exception.has_error_code = 0;
  events->exception.error_code = 0;
  events->flags = 0;  // leave NMI, SIPI and SMM state as they are
  return vcpu.set_events(*events);
}

Result<bool> EmulatedHostQuirks::complete_rejected_instruction(const kvm::Vcpu& vcpu, const kvm_run& run) {
  if (run.internal.suberror != KVM_INTERNAL_ERROR_EMULATION) return false;
  const auto bytes = cpu::emulation_failure_bytes(
      run.internal.ndata, internal_error_words(run));
  const cpu::Fixup fixup = cpu::decode_emulation_fixup(bytes);
  if (fixup.kind == cpu::FixupKind::kNone) return false;

  auto regs = vcpu.get_regs();
  if (!regs.ok()) return regs.error();
  auto sregs = vcpu.get_sregs();
  if (!sregs.ok()) return sregs.error();
  const bool kernel_mode = sregs->cs.dpl == 0;
  const bool long_mode = (sregs->efer & kEferLma) != 0 && sregs->cs.l;
  const bool privileged = fixup.kind == cpu::FixupKind::kClac || fixup.kind == cpu::FixupKind::kStac ||
                          fixup.kind == cpu::FixupKind::kSwapgs;
  if (privileged && (!kernel_mode || (fixup.kind == cpu::FixupKind::kSwapgs && !long_mode))) {
    // What the CPU does for these outside ring 0 (or SWAPGS outside 64-bit mode).
    BULWARK_TRY(inject_exception(vcpu, kVectorInvalidOpcode));
    counters_.instructions_completed.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  regs->rip += fixup.length;
  switch (fixup.kind) {
    case cpu::FixupKind::kClac: regs->rflags &= ~kRflagsAc; break;
    case cpu::FixupKind::kStac: regs->rflags |= kRflagsAc; break;
    case cpu::FixupKind::kSwapgs: {
      auto kernel_gs = vcpu.get_msr(kMsrKernelGsBase);
      if (!kernel_gs.ok()) return kernel_gs.error();
      BULWARK_TRY(vcpu.set_msr(kMsrKernelGsBase, sregs->gs.base));
      sregs->gs.base = *kernel_gs;
      BULWARK_TRY(vcpu.set_sregs(*sregs));
      break;
    }
    default: break;
  }
  BULWARK_TRY(vcpu.set_regs(*regs));
  if (fixup.kind == cpu::FixupKind::kInt3) BULWARK_TRY(inject_exception(vcpu, kVectorBreakpoint));
  const uint64_t n = counters_.instructions_completed.fetch_add(1, std::memory_order_relaxed);
  if (n < 4) log::debug(std::string("completed ") + std::string(cpu::fixup_name(fixup.kind)) + " at " + hex(regs->rip - fixup.length));
  return true;
}

void EmulatedHostQuirks::arm_syscall_fix_if_due(const kvm::Vcpu& vcpu, VcpuState& state) {
  if (!syscall_fix_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now < state.next_check) return;
  state.next_check = now + kArmCheckInterval;

  auto sregs = vcpu.get_sregs();
  if (!sregs.ok() || (sregs->efer & kEferLma) == 0 || sregs->idt.limit < kPageFaultVector * 16 + 15) return;
  auto lstar = vcpu.get_msr(kMsrLstar);
  if (!lstar.ok() || *lstar == 0) return;  // the guest has not enabled SYSCALL yet
  const cpu::GuestPhysicalView ram = [this](uint64_t gpa, uint64_t len) { return memory_.span(gpa, len); };
  auto low = cpu::read_guest_virtual_u64(ram, sregs->cr3, sregs->idt.base + kPageFaultVector * 16);
  auto high = cpu::read_guest_virtual_u64(ram, sregs->cr3, sregs->idt.base + kPageFaultVector * 16 + 8);
  if (!low || !high) return;
  const uint64_t handler = (*low & 0xffff) | ((*low >> 32) & 0xffff0000ULL) | ((*high & 0xffffffffULL) << 32);
  if (handler == state.armed_handler || handler == 0) return;

  if (!set_breakpoint(vcpu, handler, false).ok()) return;
  state.armed_handler = handler;
  state.stepping = false;
  log::debug("vCPU " + std::to_string(vcpu.index()) + ": SYSCALL fix armed on #PF handler " + hex(handler));
}

Status EmulatedHostQuirks::set_breakpoint(const kvm::Vcpu& vcpu, uint64_t handler, bool single_step) {
  kvm_guest_debug debug{};
  if (single_step) {
    debug.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
  } else {
    debug.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP;
    debug.arch.debugreg[0] = handler;
    debug.arch.debugreg[7] = 0x1 | 0x400;  // L0: execute breakpoint on DR0 (bit 10 reads as one)
  }
  return vcpu.set_guest_debug(debug);
}

Status EmulatedHostQuirks::pass_page_fault(const kvm::Vcpu& vcpu, kvm_regs& regs, const kvm_sregs& sregs,
                                           VcpuState& state) {
  counters_.page_faults_passed_through.fetch_add(1, std::memory_order_relaxed);
  // KVM's emulator does not honour RFLAGS.RF, so resuming on the breakpoint would fire it
  // again. If the handler starts with a NOP (read now: the kernel patches its entry code
  // after boot), the monitor skips that NOP itself; otherwise it single-steps it with the
  // breakpoint off and re-arms afterwards.
  const cpu::GuestPhysicalView ram = [this](uint64_t gpa, uint64_t len) { return memory_.span(gpa, len); };
  uint8_t nop_length = 0;
  if (auto gpa = cpu::translate_guest_virtual(ram, sregs.cr3, regs.rip)) {
    if (auto code = memory_.span(*gpa, 8)) nop_length = cpu::leading_nop_length(*code);
  }
  if (nop_length != 0) {
    regs.rip += nop_length;
    return vcpu.set_regs(regs);
  }
  state.stepping = true;
  return set_breakpoint(vcpu, state.armed_handler, true);
}

Result<bool> EmulatedHostQuirks::handle_debug_exit(const kvm::Vcpu& vcpu, const kvm_run& run, VcpuState& state) {
  if (!syscall_fix_ || state.armed_handler == 0) return false;
  if (state.stepping) {
    // The single step off the handler's first instruction is done: breakpoint back on.
    state.stepping = false;
    BULWARK_TRY(set_breakpoint(vcpu, state.armed_handler, false));
    return true;
  }
  if (run.debug.arch.pc != state.armed_handler) return false;
  auto regs = vcpu.get_regs();
  if (!regs.ok()) return regs.error();
  auto sregs = vcpu.get_sregs();
  if (!sregs.ok()) return sregs.error();
  const cpu::GuestPhysicalView ram = [this](uint64_t gpa, uint64_t len) { return memory_.span(gpa, len); };
  // #PF frame on the handler's stack: error code, RIP, CS, RFLAGS, RSP, SS.
  auto frame_rip = cpu::read_guest_virtual_u64(ram, sregs->cr3, regs->rsp + 8);
  auto frame_cs = cpu::read_guest_virtual_u64(ram, sregs->cr3, regs->rsp + 16);
  auto frame_rflags = cpu::read_guest_virtual_u64(ram, sregs->cr3, regs->rsp + 24);
  auto frame_rsp = cpu::read_guest_virtual_u64(ram, sregs->cr3, regs->rsp + 32);
  auto lstar = vcpu.get_msr(kMsrLstar);
  auto star = vcpu.get_msr(kMsrStar);
  if (frame_rip && frame_cs && frame_rflags && frame_rsp && lstar.ok() && star.ok() && *frame_rip == *lstar &&
      (*frame_cs & 3) == 3) {
    // Finish the SYSCALL the host started: kernel CS/SS from STAR[47:32], user RSP kept.
    const auto kernel_cs = static_cast<uint16_t>((*star >> 32) & 0xfffc);
    sregs->cs.selector = kernel_cs;
    sregs->cs.type = 11;
    sregs->cs.dpl = 0;
    sregs->cs.l = 1;
    sregs->cs.db = 0;
    sregs->cs.s = 1;
    sregs->cs.present = 1;
    sregs->cs.g = 1;
    sregs->cs.base = 0;
    sregs->cs.limit = 0xffffffff;
    sregs->ss = sregs->cs;
    sregs->ss.selector = static_cast<uint16_t>(kernel_cs + 8);
    sregs->ss.type = 3;
    sregs->ss.l = 0;
    sregs->ss.db = 1;
    BULWARK_TRY(vcpu.set_sregs(*sregs));
    regs->rip = *lstar;
    regs->rsp = *frame_rsp;
    regs->rflags = *frame_rflags & ~kRflagsRf;
    BULWARK_TRY(vcpu.set_regs(*regs));
    counters_.syscalls_completed.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  // A genuine page fault: the guest's handler takes it.
  BULWARK_TRY(pass_page_fault(vcpu, *regs, *sregs, state));
  return true;
}

}  // namespace bulwark::vmm
