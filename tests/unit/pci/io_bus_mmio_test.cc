#include "monitor/vmm/io_bus.h"

#include <gtest/gtest.h>

#include <vector>

namespace bulwark::vmm {
namespace {

class Recorder final : public pci::MmioDevice {
 public:
  void mmio_read(uint64_t offset, std::span<uint8_t> data) override {
    offsets.push_back(offset);
    std::fill(data.begin(), data.end(), uint8_t{0x5a});
  }
  void mmio_write(uint64_t offset, std::span<const uint8_t> data) override {
    offsets.push_back(offset);
    last_write = std::vector<uint8_t>(data.begin(), data.end());
  }
  std::vector<uint64_t> offsets;
  std::vector<uint8_t> last_write;
};

TEST(IoBusMmio, OverlappingEmptyOrWrappingRangesAreRefused) {
  IoBus bus;
  Recorder a, b;
  EXPECT_TRUE(bus.add_mmio_device(0xc0000000, 0x1000, &a, "a"));
  EXPECT_FALSE(bus.add_mmio_device(0xc0000fff, 0x10, &b, "b"));
  EXPECT_FALSE(bus.add_mmio_device(0xbffff000, 0x2000, &b, "b"));
  EXPECT_FALSE(bus.add_mmio_device(0xd0000000, 0, &b, "b"));
  EXPECT_FALSE(bus.add_mmio_device(0xfffffffffffff000, 0x2000, &b, "b"));
  EXPECT_FALSE(bus.add_mmio_device(0xd0000000, 0x1000, nullptr, "b"));
  EXPECT_TRUE(bus.add_mmio_device(0xc0001000, 0x1000, &b, "b"));  // adjacent is fine
  EXPECT_TRUE(bus.add_mmio_device(0xfffffffffffff000, 0x1000, &b, "top"));
}

TEST(IoBusMmio, DispatchesWithOffsetsAndCountsTheRest) {
  IoBus bus;
  Recorder dev;
  ASSERT_TRUE(bus.add_mmio_device(0xc0000000, 0x1000, &dev, "dev"));
  uint8_t data[4] = {1, 2, 3, 4};
  bus.mmio_access(0xc0000ffc, true, data);
  ASSERT_EQ(dev.offsets.size(), 1u);
  EXPECT_EQ(dev.offsets[0], 0xffcu);
  EXPECT_EQ(dev.last_write, (std::vector<uint8_t>{1, 2, 3, 4}));
  bus.mmio_access(0xc0000010, false, data);
  EXPECT_EQ(data[0], 0x5a);
  bus.mmio_access(0xc0000ffe, false, data);  // straddles the end
  EXPECT_EQ(data[3], 0xff);
  bus.mmio_access(0xfee00000, true, data);
  EXPECT_EQ(dev.offsets.size(), 2u);
  EXPECT_EQ(bus.counters().unknown_mmio_reads.load(), 1u);
  EXPECT_EQ(bus.counters().unknown_mmio_writes.load(), 1u);
  EXPECT_EQ(bus.counters().mmio_accesses.load(), 4u);
}

}  // namespace
}  // namespace bulwark::vmm
