// What the snapshot_state fuzzer and its seed generator share: a fixed test key (never a real
// host's: it is in the source) and the restoring VM the parser checks the snapshot against.
#pragma once

#include <cstdint>
#include <vector>

#include "snapshot/state_format.h"
#include "snapshot/state_key.h"

namespace bulwark::snapshot::fuzz {

inline constexpr const char* kVmId = "fuzz-vm";
inline constexpr uint32_t kVcpus = 2;
inline constexpr uint64_t kMemoryBytes = 64 * 1024;

// Control byte (the input's first): bit 0 keeps the input's total-length field instead of
// patching in the real size; bit 1 also expects the seeds' exact memory layout and devices.
inline constexpr uint8_t kKeepTotalLength = 1;
inline constexpr uint8_t kExpectLayoutAndDevices = 2;

inline const StateKey& test_key() {
  static const StateKey key = StateKey::derive(std::vector<uint8_t>(32, 0x5a), kVmId).value();
  return key;
}

inline std::vector<MemoryRegion> seed_layout() {
  return {{0, 32 * 1024, 0}, {1 << 20, 32 * 1024, 32 * 1024}};
}

inline Expectations expectations(uint8_t control) {
  Expectations expect;
  expect.vm_id = kVmId;
  expect.vcpu_count = kVcpus;
  expect.memory_bytes = kMemoryBytes;
  if (control & kExpectLayoutAndDevices) {
    expect.memory_layout = seed_layout();
    expect.device_names = std::vector<std::string>{"blk0", "net0"};
  }
  return expect;
}

}  // namespace bulwark::snapshot::fuzz
