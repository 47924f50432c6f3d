// 32-bit little-endian register access to a CrbDevice, as a guest's MOV would make it: for the
// tests and the fuzz target, which drive the device register by register.
#pragma once

#include <cstdint>

#include "monitor/tpm/crb_device.h"

namespace bulwark::tpm {

inline uint32_t crb_read32(CrbDevice& crb, uint64_t offset) {
  uint8_t b[4];
  crb.mmio_read(offset, b);
  return uint32_t{b[0]} | (uint32_t{b[1]} << 8) | (uint32_t{b[2]} << 16) | (uint32_t{b[3]} << 24);
}

inline void crb_write32(CrbDevice& crb, uint64_t offset, uint32_t value) {
  const uint8_t b[4] = {static_cast<uint8_t>(value), static_cast<uint8_t>(value >> 8),
                        static_cast<uint8_t>(value >> 16), static_cast<uint8_t>(value >> 24)};
  crb.mmio_write(offset, b);
}

}  // namespace bulwark::tpm
