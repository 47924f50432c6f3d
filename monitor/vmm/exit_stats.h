// Counts of vCPU exits by KVM exit reason, for the summary the monitor logs at the end and the
// benchmarks read.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace bulwark::vmm {

class ExitStats {
 public:
  void count(uint32_t reason) {
    counts_[reason < kSlots ? reason : kSlots - 1].fetch_add(1, std::memory_order_relaxed);
  }
  // "exits: IO=487 MMIO=2"
  std::string summary() const;
  static std::string reason_name(uint32_t reason);

 private:
  static constexpr size_t kSlots = 64;  // the last slot also counts any reason beyond it
  std::array<std::atomic<uint64_t>, kSlots> counts_{};
};

}  // namespace bulwark::vmm
