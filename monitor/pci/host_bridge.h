// The host bridge at 00:00.0. Linux's type-1 probe (arch/x86/pci/direct.c) accepts the
// configuration mechanism when bus 0 shows a host bridge, so one must be there.
#pragma once

#include "monitor/pci/pci_device.h"

namespace bulwark::pci {

inline constexpr uint16_t kHostBridgeVendorId = 0x8086;  // Intel
inline constexpr uint16_t kHostBridgeDeviceId = 0x0d57;   // no driver binds to this id
inline constexpr uint32_t kClassHostBridge = 0x060000;

class HostBridge final : public PciDevice {
 public:
  HostBridge();
  ConfigSpace& config_space() override { return config_; }

 private:
  ConfigSpace config_;
};

}  // namespace bulwark::pci
