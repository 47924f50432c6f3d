#include "monitor/pci/host_bridge.h"

namespace bulwark::pci {

HostBridge::HostBridge()
    : config_(PciIdentity{.vendor_id = kHostBridgeVendorId,
                          .device_id = kHostBridgeDeviceId,
                          .revision = 0,
                          .class_code = kClassHostBridge,
                          .subsystem_vendor_id = 0,
                          .subsystem_id = 0}) {}

}  // namespace bulwark::pci
