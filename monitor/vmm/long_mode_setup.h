// CPU state for the 64-bit entry of the Linux boot protocol: a flat GDT, identity page tables
// over the first 4 GiB, long mode on, RSI = zero page. Only the boot vCPU is set up; the
// others wait for INIT/SIPI from the guest like real application processors.
#pragma once

#include <cstdint>

#include "bulwark/common/result.h"
#include "monitor/kvm/guest_memory.h"
#include "monitor/kvm/vcpu.h"

namespace bulwark::vmm {

// Writes the GDT and page tables into guest RAM (at the addresses in guest_layout.h).
Status write_long_mode_tables(const kvm::GuestMemory& memory);
// Puts the boot vCPU in 64-bit mode at `entry` with RSI = `zero_page`.
Status enter_long_mode(const kvm::Vcpu& vcpu, uint64_t entry, uint64_t zero_page);

}  // namespace bulwark::vmm
