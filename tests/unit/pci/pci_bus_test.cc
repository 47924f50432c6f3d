#include "monitor/pci/pci_bus.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/unit/pci/config_access.h"

namespace bulwark::pci {
namespace {

using testing::config_address;
using testing::config_read;
using testing::config_write;
using testing::mmio_read;
using testing::mmio_write;
using testing::port_in;
using testing::port_out;

class RecordingDevice final : public PciDevice {
 public:
  explicit RecordingDevice(std::vector<uint32_t> bar_sizes)
      : config_(PciIdentity{.vendor_id = 0x1af4, .device_id = 0x1042, .revision = 1, .class_code = 0x018000,
                            .subsystem_vendor_id = 0x1af4, .subsystem_id = 0x1042}) {
    for (unsigned i = 0; i < bar_sizes.size(); ++i) config_.declare_memory_bar(i, bar_sizes[i]);
  }
  ConfigSpace& config_space() override { return config_; }
  void bar_read(unsigned bar, uint64_t offset, std::span<uint8_t> data) override {
    reads.push_back({bar, offset});
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(0xa0 + i);
  }
  void bar_write(unsigned bar, uint64_t offset, std::span<const uint8_t> data) override {
    writes.push_back({bar, offset});
    (void)data;
  }
  struct Access {
    unsigned bar;
    uint64_t offset;
  };
  std::vector<Access> reads;
  std::vector<Access> writes;

 private:
  ConfigSpace config_;
};

TEST(PciBus, LinuxType1ProbeSeesTheAddressLatchAndAHostBridge) {
  PciBus pci;
  // arch/x86/pci/direct.c pci_check_type1(): outb 0x01 to 0xCFB, save inl(0xCF8), outl
  // 0x80000000, expect it back, then restore.
  port_out(pci, 3, 0x01, 1);
  const uint32_t saved = port_in(pci, 0, 4);
  port_out(pci, 0, 0x80000000, 4);
  EXPECT_EQ(port_in(pci, 0, 4), 0x80000000u);
  port_out(pci, 0, saved, 4);
  // pci_sanity_check(): the class word at 0x0A of some function on bus 0 is a host bridge.
  EXPECT_EQ(config_read(pci, 0, 0x0a, 2), 0x0600u);
  EXPECT_EQ(config_read(pci, 0, kVendorId, 2), kHostBridgeVendorId);
  EXPECT_EQ(config_read(pci, 0, kHeaderType, 1), 0u);  // type 0, single function
}

TEST(PciBus, AddressLatchKeepsOnlyDefinedBits) {
  PciBus pci;
  port_out(pci, 0, 0xffffffff, 4);
  EXPECT_EQ(port_in(pci, 0, 4), 0x80fffffcu);
  EXPECT_EQ(port_in(pci, 2, 2), 0x80ffu);  // narrow reads see the latch's bytes
  port_out(pci, 0, 0x12, 2);               // narrow writes do not change it
  EXPECT_EQ(port_in(pci, 0, 4), 0x80fffffcu);
}

TEST(PciBus, ByteWordAndDwordDataAccessesSelectTheRightBytes) {
  PciBus pci;
  const uint32_t id = config_read(pci, 0, kVendorId, 4);
  EXPECT_EQ(id, uint32_t{kHostBridgeDeviceId} << 16 | kHostBridgeVendorId);
  EXPECT_EQ(config_read(pci, 0, kDeviceId, 2), kHostBridgeDeviceId);
  EXPECT_EQ(config_read(pci, 0, 1, 1), kHostBridgeVendorId >> 8);
  EXPECT_EQ(config_read(pci, 0, 3, 1), kHostBridgeDeviceId >> 8);
  // A word at 0xCFE reaches register 2 of the dword; a dword at 0xCFE would cross it.
  port_out(pci, 0, config_address(0, 0), 4);
  EXPECT_EQ(port_in(pci, 6, 2), kHostBridgeDeviceId);
  EXPECT_EQ(port_in(pci, 6, 4), 0xffffffffu);
}

TEST(PciBus, AbsentFunctionsAndDisabledMechanismReadAllOnes) {
  PciBus pci;
  EXPECT_EQ(config_read(pci, 5, kVendorId, 4), 0xffffffffu);  // empty slot
  port_out(pci, 0, config_address(0, 0, /*bus=*/1), 4);
  EXPECT_EQ(port_in(pci, 4, 4), 0xffffffffu);  // no bus 1
  port_out(pci, 0, config_address(0, 0, 0, /*function=*/3), 4);
  EXPECT_EQ(port_in(pci, 4, 2), 0xffffu);  // single-function device
  port_out(pci, 0, 0x00000000, 4);         // enable bit clear
  EXPECT_EQ(port_in(pci, 4, 4), 0xffffffffu);
  EXPECT_EQ(pci.counters().absent_config_reads, 4u);
  config_write(pci, 7, kCommand, 0xffff, 2);
  EXPECT_EQ(pci.counters().absent_config_writes, 1u);
}

TEST(PciBus, ReadOnlyHeaderFieldsStayReadOnly) {
  PciBus pci;
  RecordingDevice device({0x1000});
  const uint8_t slot = *pci.add_device(device);
  config_write(pci, slot, kVendorId, 0xdeadbeef, 4);
  config_write(pci, slot, kClassProgIf, 0xffffff, 4);
  config_write(pci, slot, kStatus, 0xffff, 2);
  config_write(pci, slot, kExpansionRom, 0xffffffff, 4);
  config_write(pci, slot, kInterruptPin, 0xff, 1);
  EXPECT_EQ(config_read(pci, slot, kVendorId, 4), 0x10421af4u);
  EXPECT_EQ(config_read(pci, slot, 0x08, 4), 0x01800001u);
  EXPECT_EQ(config_read(pci, slot, kStatus, 2), 0u);
  EXPECT_EQ(config_read(pci, slot, kExpansionRom, 4), 0u);  // no ROM BAR
  EXPECT_EQ(config_read(pci, slot, kInterruptPin, 1), 0u);  // no INTx
  config_write(pci, slot, kInterruptLine, 0x0b, 1);
  EXPECT_EQ(config_read(pci, slot, kInterruptLine, 1), 0x0bu);  // scratch for the OS
  config_write(pci, slot, kCommand, 0xffff, 2);
  EXPECT_EQ(config_read(pci, slot, kCommand, 2), 0x0546u);  // no I/O space bit
}

TEST(PciBus, BarSizingByWritingAllOnes) {
  PciBus pci;
  RecordingDevice device({0x8000, 0, 0x100});
  const uint8_t slot = *pci.add_device(device);
  const uint32_t placed = config_read(pci, slot, kBar0, 4);
  // Linux's __pci_read_base: save, write ~0, read the mask, restore.
  config_write(pci, slot, kBar0, 0xffffffff, 4);
  EXPECT_EQ(config_read(pci, slot, kBar0, 4), 0xffff8000u);  // 32 KiB, 32-bit, not prefetchable
  config_write(pci, slot, kBar0, placed, 4);
  EXPECT_EQ(config_read(pci, slot, kBar0, 4), placed);
  config_write(pci, slot, kBar0 + 4, 0xffffffff, 4);
  EXPECT_EQ(config_read(pci, slot, kBar0 + 4, 4), 0u);  // unimplemented BAR
  config_write(pci, slot, kBar0 + 8, 0xffffffff, 4);
  EXPECT_EQ(config_read(pci, slot, kBar0 + 8, 4), 0xffffff00u);
}

TEST(PciBus, BarsArePlacedNaturallyAlignedInTheHoleBelowTheIoapic) {
  PciBus pci;
  RecordingDevice small({0x1000});
  RecordingDevice big({0x100000, 0x8000});
  ASSERT_TRUE(pci.add_device(small).ok());
  ASSERT_TRUE(pci.add_device(big).ok());
  const uint32_t a = *small.config_space().bar_address(0);
  const uint32_t b = *big.config_space().bar_address(0);
  const uint32_t c = *big.config_space().bar_address(1);
  EXPECT_EQ(a, boot::kMmioHoleStart);
  EXPECT_EQ(b % 0x100000, 0u);
  EXPECT_EQ(c % 0x8000, 0u);
  EXPECT_GE(b, a + 0x1000u);
  EXPECT_GE(c, b + 0x100000u);
  EXPECT_LE(uint64_t{c} + 0x8000, boot::kIoApicAddr);
}

TEST(PciBus, RefusesDevicesWhenTheWindowOrBusIsFull) {
  PciBus tiny(0xc0000000, 0xc0002000);
  RecordingDevice fits({0x2000});
  RecordingDevice too_much({0x1000});
  EXPECT_TRUE(tiny.add_device(fits).ok());
  const Result<uint8_t> refused = tiny.add_device(too_much);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("window full"), std::string::npos);

  PciBus pci;
  std::vector<std::unique_ptr<RecordingDevice>> devices;
  for (int i = 0; i < 31; ++i) {
    devices.push_back(std::make_unique<RecordingDevice>(std::vector<uint32_t>{}));
    ASSERT_TRUE(pci.add_device(*devices.back()).ok());
  }
  RecordingDevice one_more({});
  EXPECT_FALSE(pci.add_device(one_more).ok());
}

TEST(PciBus, MmioReachesABarOnlyWithMemoryDecodeEnabled) {
  PciBus pci;
  RecordingDevice device({0x1000});
  const uint8_t slot = *pci.add_device(device);
  const uint64_t bar = *device.config_space().bar_address(0);
  EXPECT_EQ(mmio_read(pci, bar + 8, 4), 0xffffffffu);
  EXPECT_TRUE(device.reads.empty());
  config_write(pci, slot, kCommand, kCommandMemoryEnable, 2);
  EXPECT_EQ(mmio_read(pci, bar + 8, 2), 0xa1a0u);
  ASSERT_EQ(device.reads.size(), 1u);
  EXPECT_EQ(device.reads[0].offset, 8u);
  mmio_write(pci, bar + 0xffc, 1, 4);
  ASSERT_EQ(device.writes.size(), 1u);
  EXPECT_EQ(device.writes[0].offset, 0xffcu);
  // Straddling the BAR's end hits nothing.
  EXPECT_EQ(mmio_read(pci, bar + 0xffe, 4), 0xffffffffu);
  mmio_write(pci, bar + 0x1000, 1, 4);
  EXPECT_EQ(device.writes.size(), 1u);
  EXPECT_EQ(pci.counters().unclaimed_mmio_reads, 2u);
  EXPECT_EQ(pci.counters().unclaimed_mmio_writes, 1u);
}

TEST(PciBus, GuestCanMoveABar) {
  PciBus pci;
  RecordingDevice device({0x1000});
  const uint8_t slot = *pci.add_device(device);
  config_write(pci, slot, kCommand, kCommandMemoryEnable, 2);
  config_write(pci, slot, kBar0, 0xd0000123, 4);  // low bits are not address bits
  EXPECT_EQ(config_read(pci, slot, kBar0, 4), 0xd0000000u);
  EXPECT_EQ(mmio_read(pci, 0xd0000010, 1), 0xa0u);
  EXPECT_EQ(device.reads.back().offset, 0x10u);
}

TEST(PciBus, CapabilityListWalksLikeLinux) {
  PciBus pci;
  RecordingDevice device({});
  const uint8_t one[] = {1, 2};
  const uint8_t two[] = {3, 4, 5, 6, 7};
  ASSERT_EQ(device.config_space().add_capability(0x09, one), std::optional<uint8_t>(0x40));
  ASSERT_EQ(device.config_space().add_capability(0x11, two), std::optional<uint8_t>(0x44));
  const uint8_t slot = *pci.add_device(device);
  const auto caps = testing::walk_capabilities(pci, slot);
  ASSERT_EQ(caps.size(), 2u);
  EXPECT_EQ(caps[0], std::make_pair(uint8_t{0x40}, uint8_t{0x09}));
  EXPECT_EQ(caps[1], std::make_pair(uint8_t{0x44}, uint8_t{0x11}));
  EXPECT_EQ(config_read(pci, slot, 0x46, 1), 3u);
  // Capability bodies are read-only unless the capability says otherwise.
  config_write(pci, slot, 0x44, 0xffffffff, 4);
  EXPECT_EQ(config_read(pci, slot, 0x44, 4), 0x04030011u);
  EXPECT_TRUE(testing::walk_capabilities(pci, 0).empty());  // host bridge: no list
}

TEST(ConfigSpace, RefusesCapabilitiesThatDoNotFit) {
  ConfigSpace config(PciIdentity{});
  std::vector<uint8_t> body(100, 0);
  EXPECT_EQ(config.add_capability(0x09, body), std::optional<uint8_t>(0x40));  // 0x40..0xa5
  EXPECT_FALSE(config.add_capability(0x09, body).has_value());  // 0xa8 + 102 > 256
  const std::vector<uint8_t> short_mask(3, 0xff);
  EXPECT_FALSE(config.add_capability(0x09, std::span(body).first(10), short_mask).has_value());
  EXPECT_EQ(config.add_capability(0x11, std::span(body).first(10)), std::optional<uint8_t>(0xa8));
  EXPECT_EQ(config.u8(0x41), 0xa8u);  // linked
}

}  // namespace
}  // namespace bulwark::pci
