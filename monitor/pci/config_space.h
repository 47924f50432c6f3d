// One function's 256-byte PCI configuration space: a type-0 header, a capability list and
// 32-bit memory BARs. Every byte has a mask of the bits a guest may change, so read-only
// fields stay read-only and BAR sizing (write all ones, read back the size mask) falls out of
// the masks. Devices with side effects wrap this in their PciDevice implementation.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "monitor/pci/pci_regs.h"

namespace bulwark::pci {

struct PciIdentity {
  uint16_t vendor_id = 0;
  uint16_t device_id = 0;
  uint8_t revision = 0;
  uint32_t class_code = 0;  // 24 bits: base class, subclass, prog-if
  uint16_t subsystem_vendor_id = 0;
  uint16_t subsystem_id = 0;
};

class ConfigSpace {
 public:
  explicit ConfigSpace(const PciIdentity& identity);

  // Guest accesses: [offset, offset+size) must lie inside the 256 bytes, else reads return
  // all ones and writes are dropped. Writes change only the bits the masks allow.
  void read(uint16_t offset, std::span<uint8_t> data) const;
  void write(uint16_t offset, std::span<const uint8_t> data);

  // Declares BAR `index` as a 32-bit non-prefetchable memory BAR of `size` bytes (a power of
  // two, at least 16). False when the index or size is invalid or the BAR already exists.
  bool declare_memory_bar(unsigned index, uint32_t size);
  // Host side: where the BAR currently decodes (nullopt: not declared). The guest may move it.
  std::optional<uint32_t> bar_address(unsigned index) const;
  uint32_t bar_size(unsigned index) const { return index < kBarCount ? bar_sizes_[index] : 0; }
  // Host side placement (firmware's job on real hardware). Ignored for undeclared BARs.
  void set_bar_address(unsigned index, uint32_t address);

  uint16_t command() const { return u16(kCommand); }
  bool memory_enabled() const { return command() & kCommandMemoryEnable; }

  // Appends a capability: `id`, a next pointer the list maintains, then `body`. `writable`
  // (same length as body, or empty for read-only) holds the bits a guest may change.
  // Returns the capability's offset, or nullopt when it does not fit.
  std::optional<uint8_t> add_capability(uint8_t id, std::span<const uint8_t> body,
                                        std::span<const uint8_t> writable = {});

  // Host-side raw access (no masks), for devices that keep state in their capabilities.
  uint8_t u8(uint16_t offset) const { return offset < kConfigSpaceSize ? bytes_[offset] : 0xff; }
  uint16_t u16(uint16_t offset) const;
  uint32_t u32(uint16_t offset) const;
  void set_u8(uint16_t offset, uint8_t value);
  void set_u16(uint16_t offset, uint16_t value);
  void set_u32(uint16_t offset, uint32_t value);
  // Which bits a guest write may change from now on (e.g. the interrupt pin of a bridge).
  void set_writable(uint16_t offset, std::span<const uint8_t> mask);

 private:
  std::array<uint8_t, kConfigSpaceSize> bytes_{};
  std::array<uint8_t, kConfigSpaceSize> writable_{};
  std::array<uint32_t, kBarCount> bar_sizes_{};
  uint8_t last_capability_ = 0;  // 0: list empty
  uint16_t next_free_ = kFirstCapability;
};

}  // namespace bulwark::pci
