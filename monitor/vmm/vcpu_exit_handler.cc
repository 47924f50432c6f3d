#include "monitor/vmm/vcpu_exit_handler.h"

#include <algorithm>
#include <cstdio>
#include <span>
#include <string>

#include "bulwark/common/hex.h"
#include "monitor/cpu/emulation_fixup.h"
#include "monitor/vmm/exit_codes.h"
#include "monitor/vmm/register_dump.h"

namespace bulwark::vmm {
namespace {

void stop_with_dump(VmStop& stop, int code, const std::string& message, const kvm::Vcpu& vcpu) {
  stop.request(code, message + "\n" + register_dump(vcpu));
}

}  // namespace

bool handle_vcpu_exit(kvm::Vcpu& vcpu, EmulatedHostQuirks::VcpuState& state, VcpuExitContext& ctx) {
  kvm_run& run = *vcpu.run_page();
  ctx.stats.count(run.exit_reason);
  switch (run.exit_reason) {
    case KVM_EXIT_IO: {
      auto* data = reinterpret_cast<uint8_t*>(&run) + run.io.data_offset;
      const size_t size = run.io.size;
      // data_offset/size/count come from KVM, not the guest; still, stay inside the run page.
      if (size == 0 || size > 4 || run.io.data_offset + uint64_t{size} * run.io.count >
                                       uint64_t{ctx.run_page_size}) {
        stop_with_dump(ctx.stop, kExitHostError, "malformed KVM_EXIT_IO from KVM", vcpu);
        return false;
      }
      for (uint32_t i = 0; i < run.io.count; ++i)
        ctx.bus.port_access(run.io.port, run.io.direction == KVM_EXIT_IO_OUT, std::span<uint8_t>(data + i * size, size));
      ctx.quirks.arm_syscall_fix_if_due(vcpu, state);
      return true;
    }
    case KVM_EXIT_MMIO: {
      const size_t len = std::min<size_t>(run.mmio.len, sizeof run.mmio.data);
      ctx.bus.mmio_access(run.mmio.phys_addr, run.mmio.is_write != 0, std::span<uint8_t>(run.mmio.data, len));
      ctx.quirks.arm_syscall_fix_if_due(vcpu, state);
      return true;
    }
    case KVM_EXIT_INTR:
    case KVM_EXIT_IRQ_WINDOW_OPEN:
    case KVM_EXIT_HLT:  // the in-kernel irqchip handles HLT; if one reaches us, just resume
      return true;
    case KVM_EXIT_SHUTDOWN:
      stop_with_dump(ctx.stop, kExitGuestTripleFault, "the guest triple-faulted (shutdown) on vCPU " + std::to_string(vcpu.index()),
                     vcpu);
      return false;
    case KVM_EXIT_FAIL_ENTRY: {
      stop_with_dump(ctx.stop, kExitVmEntryFailed,
                     "KVM could not enter the guest: hardware reason " + hex(run.fail_entry.hardware_entry_failure_reason),
                     vcpu);
      return false;
    }
    case KVM_EXIT_INTERNAL_ERROR: {
      auto done = ctx.quirks.complete_rejected_instruction(vcpu, run);
      if (done.ok() && *done) return true;
      std::string message = "KVM internal error (suberror " + std::to_string(run.internal.suberror) + ")";
      if (run.internal.suberror == KVM_INTERNAL_ERROR_EMULATION) {
        message = "the host cannot emulate a guest instruction:";
        const auto bytes = cpu::emulation_failure_bytes(
            run.internal.ndata, std::span<const uint64_t>(reinterpret_cast<const uint64_t*>(run.internal.data), std::size(run.internal.data)));
        for (uint8_t b : bytes) {
          char hex[4];
          std::snprintf(hex, sizeof hex, " %02x", b);
          message += hex;
        }
        if (bytes.empty()) message += " (bytes not reported)";
      }
      if (!done.ok()) message += "; completing it failed: " + done.error().message();
      stop_with_dump(ctx.stop, kExitGuestEmulationFailure, message + " on vCPU " + std::to_string(vcpu.index()), vcpu);
      return false;
    }
    case KVM_EXIT_DEBUG: {
      auto handled = ctx.quirks.handle_debug_exit(vcpu, run, state);
      if (handled.ok() && *handled) return true;
      stop_with_dump(ctx.stop, kExitHostError, "unexpected debug exit at " + hex(run.debug.arch.pc), vcpu);
      return false;
    }
    case KVM_EXIT_SYSTEM_EVENT:
      switch (run.system_event.type) {
        case KVM_SYSTEM_EVENT_RESET: ctx.stop.request(kExitGuestReset, "the guest reset the machine"); return false;
        case KVM_SYSTEM_EVENT_SHUTDOWN: ctx.stop.request(kExitGuestReset, "the guest powered off"); return false;
        default:
          stop_with_dump(ctx.stop, kExitGuestEmulationFailure,
                         "guest system event " + std::to_string(run.system_event.type) + " (crash)", vcpu);
          return false;
      }
    default:
      stop_with_dump(ctx.stop, kExitHostError, "unexpected KVM exit " + ExitStats::reason_name(run.exit_reason), vcpu);
      return false;
  }
}

}  // namespace bulwark::vmm
