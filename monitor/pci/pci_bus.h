// PCI bus 0: configuration mechanism #1 (an address register at 0xCF8, data at 0xCFC-0xCFF)
// and the MMIO window the BARs are placed in. A stock x86 Linux without ECAM finds devices by
// probing exactly this. A host bridge sits at 00:00.0; absent functions read all ones.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "bulwark/common/result.h"
#include "monitor/legacy/port_io_device.h"
#include "monitor/pci/bar_allocator.h"
#include "monitor/pci/host_bridge.h"
#include "monitor/pci/mmio_device.h"
#include "monitor/pci/pci_device.h"

namespace bulwark::pci {

inline constexpr uint16_t kConfigAddressPort = 0xcf8;
inline constexpr uint16_t kConfigPortCount = 8;  // 0xCF8-0xCFB address, 0xCFC-0xCFF data
inline constexpr uint16_t kConfigDataOffset = 4;
inline constexpr uint32_t kConfigAddressEnable = 0x80000000u;
inline constexpr unsigned kDevicesPerBus = 32;

struct PciBusCounters {
  uint64_t absent_config_reads = 0;   // no function at the address (or mechanism disabled)
  uint64_t absent_config_writes = 0;
  uint64_t odd_port_accesses = 0;     // sizes/offsets the mechanism does not define
  uint64_t unclaimed_mmio_reads = 0;  // inside the window but in no enabled BAR
  uint64_t unclaimed_mmio_writes = 0;
};

// Register the bus at kConfigAddressPort (kConfigPortCount ports) as a port device and at
// window_base() (window_size() bytes) as an MMIO device.
class PciBus final : public legacy::PortIoDevice, public MmioDevice {
 public:
  explicit PciBus(uint64_t window_base = kPciMmioWindowBase, uint64_t window_end = kPciMmioWindowEnd);
  PciBus(const PciBus&) = delete;
  PciBus& operator=(const PciBus&) = delete;

  // Places every declared BAR of `device` in the window (naturally aligned) and plugs it into
  // the first free slot; returns the device number. `device` must outlive the bus.
  Result<uint8_t> add_device(PciDevice& device);

  uint64_t window_base() const { return window_base_; }
  uint64_t window_size() const { return window_end_ - window_base_; }
  const PciBusCounters& counters() const { return counters_; }

  void port_read(uint16_t offset, std::span<uint8_t> data) override;
  void port_write(uint16_t offset, std::span<const uint8_t> data) override;
  void mmio_read(uint64_t offset, std::span<uint8_t> data) override;
  void mmio_write(uint64_t offset, std::span<const uint8_t> data) override;

 private:
  struct Target {
    PciDevice* device;
    uint16_t reg;
  };
  struct BarHit {
    PciDevice* device;
    unsigned bar;
    uint64_t offset;
  };
  // The function and register a data-port access at `data_offset` (0..3) addresses.
  std::optional<Target> config_target(uint16_t data_offset, size_t size) const;
  std::optional<BarHit> find_bar(uint64_t gpa, size_t size) const;

  HostBridge host_bridge_;
  std::array<PciDevice*, kDevicesPerBus> slots_{};
  uint32_t address_ = 0;
  uint64_t window_base_;
  uint64_t window_end_;
  BarAllocator allocator_;
  PciBusCounters counters_;
};

}  // namespace bulwark::pci
