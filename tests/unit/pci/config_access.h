// Test helpers: configuration mechanism #1 accesses as a guest's in/out instructions make
// them (address dword to 0xCF8, data at 0xCFC + (reg & 3)), and MMIO through the bus window.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "monitor/pci/pci_bus.h"

namespace bulwark::pci::testing {

inline uint32_t config_address(uint8_t device, uint16_t reg, uint8_t bus = 0, uint8_t function = 0) {
  return kConfigAddressEnable | uint32_t{bus} << 16 | uint32_t{device} << 11 | uint32_t{function} << 8 |
         (reg & 0xfcu);
}

inline void port_out(PciBus& pci, uint16_t offset, uint32_t value, size_t size) {
  uint8_t bytes[4];
  std::memcpy(bytes, &value, 4);
  pci.port_write(offset, std::span<const uint8_t>(bytes, size));
}

inline uint32_t port_in(PciBus& pci, uint16_t offset, size_t size) {
  uint8_t bytes[4] = {0, 0, 0, 0};
  pci.port_read(offset, std::span<uint8_t>(bytes, size));
  uint32_t value = 0;
  std::memcpy(&value, bytes, size);
  return value;
}

inline uint32_t config_read(PciBus& pci, uint8_t device, uint16_t reg, size_t size) {
  port_out(pci, 0, config_address(device, reg), 4);
  return port_in(pci, static_cast<uint16_t>(kConfigDataOffset + (reg & 3)), size);
}

inline void config_write(PciBus& pci, uint8_t device, uint16_t reg, uint32_t value, size_t size) {
  port_out(pci, 0, config_address(device, reg), 4);
  port_out(pci, static_cast<uint16_t>(kConfigDataOffset + (reg & 3)), value, size);
}

inline uint64_t mmio_read(PciBus& pci, uint64_t gpa, size_t size) {
  uint8_t bytes[8] = {};
  pci.mmio_read(gpa - pci.window_base(), std::span<uint8_t>(bytes, size));
  uint64_t value = 0;
  std::memcpy(&value, bytes, size);
  return value;
}

inline void mmio_write(PciBus& pci, uint64_t gpa, uint64_t value, size_t size) {
  uint8_t bytes[8];
  std::memcpy(bytes, &value, 8);
  pci.mmio_write(gpa - pci.window_base(), std::span<const uint8_t>(bytes, size));
}

// Linux's capability walk (drivers/pci/pci.c): start at the pointer when the status says there
// is a list, mask the low two bits, stop at zero or after 48 hops.
inline std::vector<std::pair<uint8_t, uint8_t>> walk_capabilities(PciBus& pci, uint8_t device) {
  std::vector<std::pair<uint8_t, uint8_t>> found;  // (offset, id)
  if (!(config_read(pci, device, kStatus, 2) & kStatusCapabilityList)) return found;
  uint8_t pos = static_cast<uint8_t>(config_read(pci, device, kCapabilityPointer, 1));
  for (int ttl = 48; ttl > 0 && pos >= 0x40; --ttl) {
    pos &= ~3;
    const uint32_t header = config_read(pci, device, pos, 2);
    const auto id = static_cast<uint8_t>(header);
    if (id == 0xff) break;
    found.emplace_back(pos, id);
    pos = static_cast<uint8_t>(header >> 8);
  }
  return found;
}

}  // namespace bulwark::pci::testing
