// One PCI function as the bus sees it: configuration space plus the MMIO behind its BARs.
// Implementations are plain state machines called with the I/O bus lock held.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>

#include "monitor/pci/config_space.h"

namespace bulwark::pci {

class PciDevice {
 public:
  virtual ~PciDevice() = default;

  // The bus reads BAR sizes, addresses and the memory-enable bit from here, and places BARs.
  virtual ConfigSpace& config_space() = 0;

  // Guest configuration accesses (offset < 256, size 1, 2 or 4, never crossing a dword).
  // Devices whose capabilities have side effects override these.
  virtual void config_read(uint16_t offset, std::span<uint8_t> data) { config_space().read(offset, data); }
  virtual void config_write(uint16_t offset, std::span<const uint8_t> data) { config_space().write(offset, data); }

  // Guest MMIO inside BAR `bar`; the bus guarantees offset + size <= the BAR's size.
  virtual void bar_read(unsigned bar, uint64_t offset, std::span<uint8_t> data) {
    (void)bar;
    (void)offset;
    std::fill(data.begin(), data.end(), uint8_t{0xff});
  }
  virtual void bar_write(unsigned bar, uint64_t offset, std::span<const uint8_t> data) {
    (void)bar;
    (void)offset;
    (void)data;
  }
};

}  // namespace bulwark::pci
