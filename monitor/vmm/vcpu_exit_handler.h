// What the monitor does with each vCPU exit: port I/O and MMIO to the I/O bus, instructions the
// host could not run to the emulated-host workarounds, and every way a guest can end the VM
// (triple fault, failed entry, internal error, reset) to a stop request with its exit code.
#pragma once

#include <cstddef>

#include "monitor/kvm/vcpu.h"
#include "monitor/vmm/emulated_host_quirks.h"
#include "monitor/vmm/exit_stats.h"
#include "monitor/vmm/io_bus.h"
#include "monitor/vmm/vm_stop.h"

namespace bulwark::vmm {

struct VcpuExitContext {
  IoBus& bus;
  EmulatedHostQuirks& quirks;
  VmStop& stop;
  ExitStats& stats;
  size_t run_page_size;  // bytes mapped at vcpu.run_page()
};

// Handles the exit described by vcpu.run_page(). Returns false when the VM must stop (the stop
// has been requested with its reason); true to run the vCPU again.
bool handle_vcpu_exit(kvm::Vcpu& vcpu, EmulatedHostQuirks::VcpuState& state, VcpuExitContext& ctx);

}  // namespace bulwark::vmm
