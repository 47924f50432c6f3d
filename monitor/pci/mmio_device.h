// The interface every MMIO device model of the monitor implements. Like port-I/O devices they
// are plain state machines: the I/O bus serialises calls (one lock), and fuzz targets drive
// them directly.
#pragma once

#include <cstdint>
#include <span>

namespace bulwark::pci {

class MmioDevice {
 public:
  virtual ~MmioDevice() = default;
  // `offset` is relative to the base the device was registered at; data.size() is 1..8.
  // Reads must fill every byte of `data`.
  virtual void mmio_read(uint64_t offset, std::span<uint8_t> data) = 0;
  virtual void mmio_write(uint64_t offset, std::span<const uint8_t> data) = 0;
};

}  // namespace bulwark::pci
