#include "monitor/vmm/exit_stats.h"

#include <iterator>

namespace bulwark::vmm {
namespace {

constexpr const char* kExitReasonNames[] = {
    "UNKNOWN", "EXCEPTION", "IO", "HYPERCALL", "DEBUG", "HLT", "MMIO", "IRQ_WINDOW_OPEN", "SHUTDOWN",
    "FAIL_ENTRY", "INTR", "SET_TPR", "TPR_ACCESS", "S390_SIEIC", "S390_RESET", "DCR", "NMI", "INTERNAL_ERROR",
    "OSI", "PAPR_HCALL", "S390_UCONTROL", "WATCHDOG", "S390_TSCH", "EPR", "SYSTEM_EVENT", "S390_STSI",
    "IOAPIC_EOI", "HYPERV", "ARM_NISV", "X86_RDMSR", "X86_WRMSR", "DIRTY_RING_FULL", "AP_RESET_HOLD",
    "X86_BUS_LOCK", "XEN", "RISCV_SBI", "RISCV_CSR", "NOTIFY"};

}  // namespace

std::string ExitStats::reason_name(uint32_t reason) {
  if (reason < std::size(kExitReasonNames)) return kExitReasonNames[reason];
  return "reason " + std::to_string(reason);
}

std::vector<std::pair<uint32_t, uint64_t>> ExitStats::nonzero_counts() const {
  std::vector<std::pair<uint32_t, uint64_t>> counts;
  for (size_t i = 0; i < kSlots; ++i) {
    const uint64_t n = counts_[i].load(std::memory_order_relaxed);
    if (n != 0) counts.emplace_back(static_cast<uint32_t>(i), n);
  }
  return counts;
}

std::string ExitStats::summary() const {
  std::string line = "exits:";
  for (size_t i = 0; i < kSlots; ++i) {
    const uint64_t n = counts_[i].load(std::memory_order_relaxed);
    if (n != 0) line += " " + reason_name(static_cast<uint32_t>(i)) + "=" + std::to_string(n);
  }
  return line;
}

}  // namespace bulwark::vmm
