#include "monitor/pci/config_space.h"

#include <algorithm>
#include <cstring>

#include "bulwark/common/byte_reader.h"

namespace bulwark::pci {

ConfigSpace::ConfigSpace(const PciIdentity& identity) {
  set_u16(kVendorId, identity.vendor_id);
  set_u16(kDeviceId, identity.device_id);
  set_u8(kRevisionId, identity.revision);
  set_u8(kClassProgIf, static_cast<uint8_t>(identity.class_code));
  set_u8(kClassProgIf + 1, static_cast<uint8_t>(identity.class_code >> 8));
  set_u8(kClassProgIf + 2, static_cast<uint8_t>(identity.class_code >> 16));
  set_u16(kSubsystemVendorId, identity.subsystem_vendor_id);
  set_u16(kSubsystemId, identity.subsystem_id);
  // Command: memory decode, bus mastering and the error/INTx bits a driver toggles. No I/O
  // space bit: no device here has an I/O BAR. Status has no write-one-to-clear events to
  // report, so it is read-only. The interrupt line is a scratch register for the OS.
  const uint16_t command_mask = kCommandMemoryEnable | kCommandBusMaster | kCommandParityResponse |
                                kCommandSerrEnable | kCommandInterruptDisable;
  writable_[kCommand] = static_cast<uint8_t>(command_mask);
  writable_[kCommand + 1] = static_cast<uint8_t>(command_mask >> 8);
  writable_[kCacheLineSize] = 0xff;
  writable_[kInterruptLine] = 0xff;
}

void ConfigSpace::read(uint16_t offset, std::span<uint8_t> data) const {
  if (!range_within(offset, data.size(), kConfigSpaceSize)) {
    std::fill(data.begin(), data.end(), 0xff);
    return;
  }
  std::memcpy(data.data(), bytes_.data() + offset, data.size());
}

void ConfigSpace::write(uint16_t offset, std::span<const uint8_t> data) {
  if (!range_within(offset, data.size(), kConfigSpaceSize)) return;
  for (size_t i = 0; i < data.size(); ++i) {
    const uint8_t mask = writable_[offset + i];
    uint8_t& byte = bytes_[offset + i];
    byte = static_cast<uint8_t>((byte & ~mask) | (data[i] & mask));
  }
}

bool ConfigSpace::declare_memory_bar(unsigned index, uint32_t size) {
  if (index >= kBarCount || bar_sizes_[index] != 0) return false;
  if (size < 16 || (size & (size - 1)) != 0) return false;
  bar_sizes_[index] = size;
  // Address bits below the size are hardwired to zero: that is what BAR sizing reads back.
  // The low four bits (memory space, 32-bit, not prefetchable) are all zero and read-only.
  const uint32_t mask = ~(size - 1) & ~kBarMemoryTypeMask;
  const uint16_t reg = static_cast<uint16_t>(kBar0 + 4 * index);
  for (unsigned i = 0; i < 4; ++i) writable_[reg + i] = static_cast<uint8_t>(mask >> (8 * i));
  set_u32(reg, 0);
  return true;
}

std::optional<uint32_t> ConfigSpace::bar_address(unsigned index) const {
  if (index >= kBarCount || bar_sizes_[index] == 0) return std::nullopt;
  return u32(static_cast<uint16_t>(kBar0 + 4 * index)) & ~kBarMemoryTypeMask;
}

void ConfigSpace::set_bar_address(unsigned index, uint32_t address) {
  if (index >= kBarCount || bar_sizes_[index] == 0) return;
  set_u32(static_cast<uint16_t>(kBar0 + 4 * index), address & ~(bar_sizes_[index] - 1) & ~kBarMemoryTypeMask);
}

std::optional<uint8_t> ConfigSpace::add_capability(uint8_t id, std::span<const uint8_t> body,
                                                   std::span<const uint8_t> writable) {
  if (!writable.empty() && writable.size() != body.size()) return std::nullopt;
  const uint64_t length = 2 + body.size();
  if (!range_within(next_free_, length, kConfigSpaceSize)) return std::nullopt;
  const auto offset = static_cast<uint8_t>(next_free_);
  set_u8(offset, id);
  set_u8(offset + 1, 0);
  std::memcpy(bytes_.data() + offset + 2, body.data(), body.size());
  if (!writable.empty()) std::memcpy(writable_.data() + offset + 2, writable.data(), writable.size());
  if (last_capability_ == 0) {
    set_u8(kCapabilityPointer, offset);
    set_u16(kStatus, static_cast<uint16_t>(u16(kStatus) | kStatusCapabilityList));
  } else {
    set_u8(last_capability_ + 1, offset);
  }
  last_capability_ = offset;
  next_free_ = static_cast<uint16_t>((next_free_ + length + 3) & ~uint64_t{3});  // dword aligned
  return offset;
}

uint16_t ConfigSpace::u16(uint16_t offset) const {
  return read_le<uint16_t>(bytes_, offset).value_or(0xffff);
}

uint32_t ConfigSpace::u32(uint16_t offset) const {
  return read_le<uint32_t>(bytes_, offset).value_or(0xffffffff);
}

void ConfigSpace::set_u8(uint16_t offset, uint8_t value) {
  if (offset < kConfigSpaceSize) bytes_[offset] = value;
}

void ConfigSpace::set_u16(uint16_t offset, uint16_t value) { write_le(std::span<uint8_t>(bytes_), offset, value); }

void ConfigSpace::set_u32(uint16_t offset, uint32_t value) { write_le(std::span<uint8_t>(bytes_), offset, value); }

void ConfigSpace::set_writable(uint16_t offset, std::span<const uint8_t> mask) {
  if (!range_within(offset, mask.size(), kConfigSpaceSize)) return;
  std::memcpy(writable_.data() + offset, mask.data(), mask.size());
}

}  // namespace bulwark::pci
