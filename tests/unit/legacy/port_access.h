// Test helpers: single- and multi-byte port accesses against a PortIoDevice, as a guest's
// in/out instructions would make them.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "monitor/legacy/port_io_device.h"

namespace bulwark::legacy::testing {

inline uint8_t inb(PortIoDevice& device, uint16_t offset) {
  std::array<uint8_t, 1> data{0};
  device.port_read(offset, data);
  return data[0];
}

inline void outb(PortIoDevice& device, uint16_t offset, uint8_t value) {
  const std::array<uint8_t, 1> data{value};
  device.port_write(offset, data);
}

inline std::vector<uint8_t> in_n(PortIoDevice& device, uint16_t offset, size_t size) {
  std::vector<uint8_t> data(size, 0);
  device.port_read(offset, data);
  return data;
}

}  // namespace bulwark::legacy::testing
