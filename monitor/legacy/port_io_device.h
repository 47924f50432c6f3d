// The interface every port-I/O device of the monitor implements. Devices are plain state
// machines with no system calls: the monitor's I/O bus serialises calls into them (one lock),
// so they need no locking of their own, and fuzz targets can drive them directly.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

namespace bulwark::legacy {

// Drives one interrupt line (level-triggered ISA IRQ as seen by the in-kernel IOAPIC/PIC).
using IrqLine = std::function<void(bool level)>;

class PortIoDevice {
 public:
  virtual ~PortIoDevice() = default;
  // `offset` is relative to the device's base port; data.size() is 1, 2 or 4.
  // Reads must fill every byte of `data`.
  virtual void port_read(uint16_t offset, std::span<uint8_t> data) = 0;
  virtual void port_write(uint16_t offset, std::span<const uint8_t> data) = 0;
};

}  // namespace bulwark::legacy
