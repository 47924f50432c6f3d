// The EFER bits the monitor sets (long mode at boot) and reads (whether a vCPU runs in long
// mode): Intel SDM vol. 3, 2.2.1.
#pragma once

#include <cstdint>

namespace bulwark::vmm {

inline constexpr uint64_t kEferLme = 1ULL << 8;   // long mode enable
inline constexpr uint64_t kEferLma = 1ULL << 10;  // long mode active

}  // namespace bulwark::vmm
