// PCI configuration-space register offsets and bits (PCI Local Bus spec, type-0 header).
#pragma once

#include <cstdint>

namespace bulwark::pci {

inline constexpr uint16_t kConfigSpaceSize = 256;  // conventional space: no ECAM/MCFG

inline constexpr uint8_t kVendorId = 0x00;
inline constexpr uint8_t kDeviceId = 0x02;
inline constexpr uint8_t kCommand = 0x04;
inline constexpr uint8_t kStatus = 0x06;
inline constexpr uint8_t kRevisionId = 0x08;
inline constexpr uint8_t kClassProgIf = 0x09;  // class code: prog-if, subclass, base class
inline constexpr uint8_t kCacheLineSize = 0x0c;
inline constexpr uint8_t kHeaderType = 0x0e;
inline constexpr uint8_t kBar0 = 0x10;
inline constexpr unsigned kBarCount = 6;
inline constexpr uint8_t kSubsystemVendorId = 0x2c;
inline constexpr uint8_t kSubsystemId = 0x2e;
inline constexpr uint8_t kExpansionRom = 0x30;
inline constexpr uint8_t kCapabilityPointer = 0x34;
inline constexpr uint8_t kInterruptLine = 0x3c;
inline constexpr uint8_t kInterruptPin = 0x3d;
inline constexpr uint8_t kFirstCapability = 0x40;  // capabilities live after the header

inline constexpr uint16_t kCommandMemoryEnable = 1u << 1;
inline constexpr uint16_t kCommandBusMaster = 1u << 2;
inline constexpr uint16_t kCommandParityResponse = 1u << 6;
inline constexpr uint16_t kCommandSerrEnable = 1u << 8;
inline constexpr uint16_t kCommandInterruptDisable = 1u << 10;
inline constexpr uint16_t kStatusCapabilityList = 1u << 4;

inline constexpr uint8_t kCapabilityIdVendor = 0x09;
inline constexpr uint8_t kCapabilityIdMsix = 0x11;

inline constexpr uint32_t kBarMemoryTypeMask = 0xf;  // memory BAR: type and prefetch bits

}  // namespace bulwark::pci
