#include "monitor/pci/msix_table.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "bulwark/common/byte_reader.h"

namespace bulwark::pci {
namespace {

void write32(MsixTable& t, uint64_t offset, uint32_t value) {
  uint8_t b[4];
  std::memcpy(b, &value, 4);
  t.table_write(offset, b);
}

uint32_t read32(const MsixTable& t, uint64_t offset) {
  uint8_t b[4];
  t.table_read(offset, b);
  uint32_t v;
  std::memcpy(&v, b, 4);
  return v;
}

void program(MsixTable& t, uint16_t vector, uint64_t address, uint32_t data) {
  write32(t, vector * 16u + 0, static_cast<uint32_t>(address));
  write32(t, vector * 16u + 4, static_cast<uint32_t>(address >> 32));
  write32(t, vector * 16u + 8, data);
}

TEST(MsixTable, PowersUpMaskedAndDisabledWithTheTableSizeInControl) {
  MsixTable t(3);
  EXPECT_EQ(t.message_control(), 2u);  // N-1
  EXPECT_FALSE(t.enabled());
  for (uint16_t v = 0; v < 3; ++v) {
    EXPECT_TRUE(t.entry_masked(v));
    EXPECT_EQ(read32(t, v * 16u + 12), 1u);
  }
  EXPECT_EQ(t.table_bytes(), 48u);
  EXPECT_EQ(t.pba_bytes(), 8u);
}

TEST(MsixTable, EntriesRoundTripAndReservedBitsStayZero) {
  MsixTable t(2);
  program(t, 1, 0xfee01003, 0x4041);
  write32(t, 16 + 12, 0xfffffffe);  // unmask, reserved bits set
  EXPECT_EQ(read32(t, 16), 0xfee01000u);  // dword-aligned address
  EXPECT_EQ(read32(t, 16 + 8), 0x4041u);
  EXPECT_EQ(read32(t, 16 + 12), 0u);
  EXPECT_EQ(t.message(1), (MsiMessage{0xfee01000, 0x4041}));
  // A qword write sets address low and high at once.
  uint8_t q[8];
  const uint64_t address = 0x00000001fee00000;
  std::memcpy(q, &address, 8);
  t.table_write(0, q);
  EXPECT_EQ(t.message(0)->address, address);
}

TEST(MsixTable, WritesOutsideTheTableOrMisalignedAreIgnoredAndCounted) {
  MsixTable t(1);
  write32(t, 16, 0x1234);           // entry 1 does not exist
  write32(t, 2, 0x1234);            // misaligned
  const uint8_t b[2] = {0, 0};
  t.table_write(12, b);             // word write: not a dword or qword
  t.table_write(UINT64_MAX - 3, std::span<const uint8_t>(b, 2));
  t.pba_write(0, b);                // the PBA is read-only
  EXPECT_EQ(t.ignored_writes(), 5u);
  EXPECT_TRUE(t.entry_masked(0));
  EXPECT_EQ(read32(t, 16), 0u);     // reads outside return zeros
  EXPECT_EQ(t.message(0), (MsiMessage{0, 0}));
}

TEST(MsixTable, DeliveryNeedsEnableNoFunctionMaskAndNoEntryMask) {
  MsixTable t(2);
  program(t, 0, 0xfee00000, 0x30);
  EXPECT_FALSE(t.deliverable(0));
  write32(t, 12, 0);  // unmask entry
  EXPECT_FALSE(t.deliverable(0));
  t.write_message_control(kMsixControlEnable | kMsixControlFunctionMask);
  EXPECT_FALSE(t.deliverable(0));
  t.write_message_control(kMsixControlEnable | 0x7ff);  // table size bits are read-only
  EXPECT_EQ(t.message_control(), kMsixControlEnable | 1u);
  EXPECT_TRUE(t.deliverable(0));
  EXPECT_FALSE(t.deliverable(1));  // entry 1 still masked
  EXPECT_FALSE(t.deliverable(9));  // out of range
}

TEST(MsixTable, MaskedTriggersBecomePendingAndAreDeliveredOnUnmask) {
  MsixTable t(1);
  program(t, 0, 0xfee00000, 0x31);
  t.write_message_control(kMsixControlEnable);
  EXPECT_EQ(t.trigger(0), std::nullopt);  // entry still masked
  EXPECT_TRUE(t.pending(0));
  uint8_t pba[8];
  t.pba_read(0, pba);
  EXPECT_EQ(pba[0], 1u);
  EXPECT_EQ(t.take_pending(0), std::nullopt);  // still masked
  write32(t, 12, 0);
  EXPECT_EQ(t.take_pending(0), (MsiMessage{0xfee00000, 0x31}));
  EXPECT_FALSE(t.pending(0));
  EXPECT_EQ(t.trigger(0), (MsiMessage{0xfee00000, 0x31}));  // delivered directly now
  EXPECT_FALSE(t.pending(0));
  EXPECT_EQ(t.trigger(5), std::nullopt);  // no such vector: dropped, nothing pending
}

// Vector == table size, the first that does not exist: dropped, and no pending bit the guest
// could see in the PBA (with every vector masked, a real one would be pending).
TEST(MsixTable, TriggerOfTheVectorJustPastTheTableLeavesNoPendingBit) {
  MsixTable t(3);
  t.write_message_control(kMsixControlEnable);
  EXPECT_EQ(t.trigger(3), std::nullopt);
  uint8_t pba[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  t.pba_read(0, pba);
  for (uint8_t byte : pba) EXPECT_EQ(byte, 0u);
  EXPECT_EQ(t.trigger(2), std::nullopt);  // exists, masked: pending
  t.pba_read(0, pba);
  EXPECT_EQ(pba[0], 0x04u);
}

TEST(MsixTable, ChangeCallbackReportsWhichVectorsMayHaveChanged) {
  MsixTable t(4);
  std::vector<std::pair<uint16_t, uint16_t>> changes;
  t.set_change_callback([&](uint16_t first, uint16_t count) { changes.emplace_back(first, count); });
  write32(t, 2 * 16 + 12, 0);
  t.write_message_control(kMsixControlEnable);
  t.write_message_control(kMsixControlEnable);  // no change: no callback
  write32(t, 4 * 16, 0);                        // ignored: no callback
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0], std::make_pair(uint16_t{2}, uint16_t{1}));
  EXPECT_EQ(changes[1], std::make_pair(uint16_t{0}, uint16_t{4}));
}

TEST(MsixTable, CapabilityEncodesBirAndOffsets) {
  MsixTable t(5);
  const auto body = t.capability_body(0, 0x4000, 0, 0x6000);
  EXPECT_EQ(read_le<uint16_t>(body, 0), 4u);
  EXPECT_EQ(read_le<uint32_t>(body, 2), 0x4000u);
  EXPECT_EQ(read_le<uint32_t>(body, 6), 0x6000u);
  const auto mask = MsixTable::capability_writable_mask();
  EXPECT_EQ(mask[0], 0u);
  EXPECT_EQ(mask[1], 0xc0u);
}

TEST(MsixTable, SizeIsClampedToWhatTheCapabilityCanEncode) {
  EXPECT_EQ(MsixTable(0).size(), 1u);
  EXPECT_EQ(MsixTable(5000).size(), kMsixMaxVectors);
}

}  // namespace
}  // namespace bulwark::pci
