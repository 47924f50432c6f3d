// Virtio 1.x over PCI (virtio spec 4.1): identifiers, capability types, device status bits,
// common configuration layout, and where this transport puts each structure in its BAR.
#pragma once

#include <cstdint>

namespace bulwark::virtio_pci {

inline constexpr uint16_t kVirtioVendorId = 0x1af4;
inline constexpr uint16_t kModernDeviceIdBase = 0x1040;  // + virtio device type
inline constexpr uint8_t kModernRevision = 1;

inline constexpr uint32_t kDeviceTypeNet = 1;
inline constexpr uint32_t kDeviceTypeBlock = 2;
inline constexpr uint32_t kDeviceTypeEntropy = 4;

// virtio_pci_cap.cfg_type
inline constexpr uint8_t kCapCommonCfg = 1;
inline constexpr uint8_t kCapNotifyCfg = 2;
inline constexpr uint8_t kCapIsrCfg = 3;
inline constexpr uint8_t kCapDeviceCfg = 4;
inline constexpr uint8_t kCapPciCfg = 5;
// Byte offsets inside a virtio capability (from its id byte).
inline constexpr uint8_t kCapLenOffset = 2;
inline constexpr uint8_t kCapBarOffset = 4;
inline constexpr uint8_t kCapOffsetOffset = 8;
inline constexpr uint8_t kCapLengthOffset = 12;
inline constexpr uint8_t kCapNotifyMultiplierOffset = 16;
inline constexpr uint8_t kCapPciCfgDataOffset = 16;

// device_status
inline constexpr uint8_t kStatusAcknowledge = 1;
inline constexpr uint8_t kStatusDriver = 2;
inline constexpr uint8_t kStatusDriverOk = 4;
inline constexpr uint8_t kStatusFeaturesOk = 8;
inline constexpr uint8_t kStatusNeedsReset = 0x40;
inline constexpr uint8_t kStatusFailed = 0x80;

inline constexpr unsigned kFeatureVersion1 = 32;
inline constexpr uint16_t kNoVector = 0xffff;

// struct virtio_pci_common_cfg
inline constexpr uint16_t kDeviceFeatureSelect = 0x00;
inline constexpr uint16_t kDeviceFeature = 0x04;
inline constexpr uint16_t kDriverFeatureSelect = 0x08;
inline constexpr uint16_t kDriverFeature = 0x0c;
inline constexpr uint16_t kMsixConfig = 0x10;
inline constexpr uint16_t kNumQueues = 0x12;
inline constexpr uint16_t kDeviceStatus = 0x14;
inline constexpr uint16_t kConfigGeneration = 0x15;
inline constexpr uint16_t kQueueSelect = 0x16;
inline constexpr uint16_t kQueueSize = 0x18;
inline constexpr uint16_t kQueueMsixVector = 0x1a;
inline constexpr uint16_t kQueueEnable = 0x1c;
inline constexpr uint16_t kQueueNotifyOff = 0x1e;
inline constexpr uint16_t kQueueDesc = 0x20;
inline constexpr uint16_t kQueueDriver = 0x28;
inline constexpr uint16_t kQueueDevice = 0x30;
inline constexpr uint16_t kQueueNotifyData = 0x38;
inline constexpr uint16_t kQueueReset = 0x3a;
inline constexpr uint16_t kCommonCfgSize = 0x40;

// ISR status bits
inline constexpr uint8_t kIsrQueue = 1;
inline constexpr uint8_t kIsrConfig = 2;

// The transport's single 32-bit memory BAR, one page per structure.
inline constexpr unsigned kBarIndex = 0;
inline constexpr uint32_t kBarSize = 0x8000;
inline constexpr uint32_t kCommonCfgBarOffset = 0x0000;
inline constexpr uint32_t kIsrBarOffset = 0x1000;
inline constexpr uint32_t kIsrSize = 1;
inline constexpr uint32_t kDeviceCfgBarOffset = 0x2000;
inline constexpr uint32_t kDeviceCfgSize = 0x100;  // vhost-user config messages carry <= 256 bytes
inline constexpr uint32_t kNotifyBarOffset = 0x3000;
inline constexpr uint32_t kNotifyOffMultiplier = 4;
inline constexpr uint32_t kMsixTableBarOffset = 0x4000;
inline constexpr uint32_t kMsixPbaBarOffset = 0x6000;
inline constexpr uint32_t kRegionSize = 0x1000;
inline constexpr uint16_t kMaxQueues = 64;  // fits the notify page and the MSI-X table pages

}  // namespace bulwark::virtio_pci
