// How the legacy devices map a port access onto their 8-bit registers. Every register of
// these devices is one byte wide, so a wider access (2 or 4 bytes) touches only the register
// at its first byte: the remaining bytes of a read return 0xff (nothing drives those data
// lines) and the remaining bytes of a write are ignored. One access therefore has exactly one
// side effect, whatever its size, which keeps the state machines simple to reason about.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>

namespace bulwark::legacy {

// Value a read returns for bytes and ports no register answers.
inline constexpr uint8_t kFloatingBus = 0xff;

// Fills `data` for a read whose first byte is `value`. An empty span is left alone.
inline void fill_byte_read(std::span<uint8_t> data, uint8_t value) {
  std::ranges::fill(data, kFloatingBus);
  if (!data.empty()) data[0] = value;
}

}  // namespace bulwark::legacy
