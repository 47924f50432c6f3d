// Counts of vCPU exits by KVM exit reason, for the summary the monitor logs at the end and the
// benchmarks read.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace bulwark::vmm {

class ExitStats {
 public:
  void count(uint32_t reason) {
    counts_[reason < kSlots ? reason : kSlots - 1].fetch_add(1, std::memory_order_relaxed);
  }
  // "exits: IO=487 MMIO=2"
  std::string summary() const;
  // (reason, count) for every reason counted at least once, in reason order; the last slot
  // (kSlots - 1) also holds every reason beyond it.
  std::vector<std::pair<uint32_t, uint64_t>> nonzero_counts() const;
  static std::string reason_name(uint32_t reason);

 private:
  static constexpr size_t kSlots = 64;  // the last slot also counts any reason beyond it
  std::array<std::atomic<uint64_t>, kSlots> counts_{};
};

}  // namespace bulwark::vmm
