#include "monitor/legacy/cmos_rtc.h"

#include <gtest/gtest.h>

#include <limits>

#include "tests/unit/legacy/port_access.h"

namespace bulwark::legacy {
namespace {

using testing::in_n;
using testing::inb;
using testing::outb;
using C = CmosRtc;

constexpr int64_t kSaturday2026_11_21_140506 = 1795269906;  // 2026-11-21 14:05:06 UTC

class CmosTest : public ::testing::Test {
 protected:
  CmosTest() : cmos_([this] { return now_; }) {}

  uint8_t read(uint8_t index) {
    outb(cmos_, C::kIndexOffset, index);
    return inb(cmos_, C::kDataOffset);
  }
  void write(uint8_t index, uint8_t value) {
    outb(cmos_, C::kIndexOffset, index);
    outb(cmos_, C::kDataOffset, value);
  }
  uint16_t read16(uint8_t index) { return static_cast<uint16_t>(read(index) | read(index + 1) << 8); }

  int64_t now_ = kSaturday2026_11_21_140506;
  CmosRtc cmos_;
};

TEST_F(CmosTest, DefaultTimeIsBcdTwentyFourHour) {
  EXPECT_EQ(read(C::kStatusB), 0x02);
  EXPECT_EQ(read(C::kSeconds), 0x06);
  EXPECT_EQ(read(C::kMinutes), 0x05);
  EXPECT_EQ(read(C::kHours), 0x14);
  EXPECT_EQ(read(C::kDayOfWeek), 0x07);  // Saturday; Sunday is 1
  EXPECT_EQ(read(C::kDayOfMonth), 0x21);
  EXPECT_EQ(read(C::kMonth), 0x11);
  EXPECT_EQ(read(C::kYear), 0x26);
  EXPECT_EQ(read(C::kCentury), 0x20);
}

TEST_F(CmosTest, BinaryModeReadsPlainNumbers) {
  write(C::kStatusB, C::k24Hour | C::kBBinary);
  EXPECT_EQ(read(C::kSeconds), 6);
  EXPECT_EQ(read(C::kMinutes), 5);
  EXPECT_EQ(read(C::kHours), 14);
  EXPECT_EQ(read(C::kDayOfMonth), 21);
  EXPECT_EQ(read(C::kMonth), 11);
  EXPECT_EQ(read(C::kYear), 26);
  EXPECT_EQ(read(C::kCentury), 20);
}

TEST_F(CmosTest, TwelveHourModeMarksPm) {
  write(C::kStatusB, 0x00);  // 12-hour, BCD
  EXPECT_EQ(read(C::kHours), 0x82);  // 2 PM
  write(C::kStatusB, C::kBBinary);
  EXPECT_EQ(read(C::kHours), 0x82);
  now_ = 1795219200;  // midnight: 12 AM
  EXPECT_EQ(read(C::kHours), 12);
  now_ = 1795219200 + 12 * 3600;  // noon: 12 PM
  EXPECT_EQ(read(C::kHours), 0x80 | 12);
  now_ = 1795219200 + 9 * 3600;
  EXPECT_EQ(read(C::kHours), 9);
}

TEST_F(CmosTest, TimeFollowsTheClockAtReadTime) {
  now_ += 60 + 10;
  EXPECT_EQ(read(C::kSeconds), 0x16);
  EXPECT_EQ(read(C::kMinutes), 0x06);
}

TEST_F(CmosTest, UpdateInProgressIsNeverSet) {
  EXPECT_EQ(read(C::kStatusA), C::kDefaultA);
  write(C::kStatusA, 0xa6);
  EXPECT_EQ(read(C::kStatusA), 0x26);
  write(C::kStatusA, 0x2f);
  EXPECT_EQ(read(C::kStatusA), 0x2f);
}

TEST_F(CmosTest, StatusDReportsValidAndIgnoresWrites) {
  EXPECT_EQ(read(C::kStatusD), C::kDValidRam);
  write(C::kStatusD, 0);
  EXPECT_EQ(read(C::kStatusD), C::kDValidRam);
}

TEST_F(CmosTest, StatusCReportsOneUpdatePerElapsedSecondAndClearsOnRead) {
  EXPECT_EQ(read(C::kStatusC), 0);
  now_ += 1;
  EXPECT_EQ(read(C::kStatusC), C::kCUpdateEnded);
  EXPECT_EQ(read(C::kStatusC), 0);
}

TEST_F(CmosTest, NmiBitOfIndexIsIgnored) {
  EXPECT_EQ(read(0x80 | C::kSeconds), 0x06);
  write(0x80 | 0x40, 0x5a);
  EXPECT_EQ(read(0x40), 0x5a);
  EXPECT_EQ(cmos_.selected_index(), 0x40);
}

TEST_F(CmosTest, IndexPortReadsFloat) {
  outb(cmos_, C::kIndexOffset, 0x10);
  EXPECT_EQ(inb(cmos_, C::kIndexOffset), 0xff);
}

TEST_F(CmosTest, PlainRamHoldsValues) {
  write(0x7f, 0x12);
  write(0x0e, 0x34);
  EXPECT_EQ(read(0x7f), 0x12);
  EXPECT_EQ(read(0x0e), 0x34);
  write(0x01, 0x45);  // alarm seconds: storage only
  EXPECT_EQ(read(0x01), 0x45);
}

TEST_F(CmosTest, MemorySizeFieldsForLargeGuest) {
  constexpr uint64_t kGiB = 1ull << 30;
  cmos_.set_memory_size(3 * kGiB, 2 * kGiB);
  EXPECT_EQ(read16(C::kBaseMemoryLow), 640);
  EXPECT_EQ(read16(C::kExtendedMemoryLow), 0xffff);  // capped
  EXPECT_EQ(read16(C::kExtendedMemoryCopyLow), 0xffff);
  EXPECT_EQ(read16(C::kMemoryAbove16MLow), (3 * kGiB - (16u << 20)) / 65536);
  EXPECT_EQ(read(C::kMemoryAbove4GLow), 0x00);
  EXPECT_EQ(read(C::kMemoryAbove4GLow + 1), 0x80);  // 2 GiB = 0x8000 blocks
  EXPECT_EQ(read(C::kMemoryAbove4GLow + 2), 0x00);
}

TEST_F(CmosTest, MemorySizeFieldsForSmallGuest) {
  cmos_.set_memory_size(32u << 20, 0);
  EXPECT_EQ(read16(C::kExtendedMemoryLow), 31 * 1024);
  EXPECT_EQ(read16(C::kExtendedMemoryCopyLow), 31 * 1024);
  EXPECT_EQ(read16(C::kMemoryAbove16MLow), (16u << 20) / 65536);
  EXPECT_EQ(read(C::kMemoryAbove4GLow), 0);
}

TEST_F(CmosTest, MemoryAbove4GIsCappedAt24Bits) {
  cmos_.set_memory_size(3ull << 30, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(read(C::kMemoryAbove4GLow), 0xff);
  EXPECT_EQ(read(C::kMemoryAbove4GLow + 1), 0xff);
  EXPECT_EQ(read(C::kMemoryAbove4GLow + 2), 0xff);
  EXPECT_EQ(read(C::kMemoryAbove4GLow + 3), 0x00);  // the next byte is untouched
}

TEST_F(CmosTest, GuestSetTimeRunsOnFromWhatItSet) {
  // The sequence a guest's hwclock --systohc makes: SET, write fields, release SET.
  write(C::kStatusB, C::kBSet | C::k24Hour);
  write(C::kHours, 0x09);
  write(C::kMinutes, 0x30);
  write(C::kSeconds, 0x00);
  write(C::kYear, 0x27);
  write(C::kMonth, 0x02);
  write(C::kDayOfMonth, 0x03);
  now_ += 100;  // time stands still while SET is on
  EXPECT_EQ(read(C::kSeconds), 0x00);
  EXPECT_EQ(read(C::kHours), 0x09);
  write(C::kStatusB, C::k24Hour);
  now_ += 42;
  EXPECT_EQ(read(C::kSeconds), 0x42);
  EXPECT_EQ(read(C::kMinutes), 0x30);
  EXPECT_EQ(read(C::kHours), 0x09);
  EXPECT_EQ(read(C::kDayOfMonth), 0x03);
  EXPECT_EQ(read(C::kMonth), 0x02);
  EXPECT_EQ(read(C::kYear), 0x27);
  EXPECT_EQ(read(C::kDayOfWeek), 0x04);  // 2027-02-03 is a Wednesday
  EXPECT_NE(cmos_.guest_offset_seconds(), 0);
}

TEST_F(CmosTest, WriteWithoutSetAppliesImmediately) {
  write(C::kMinutes, 0x59);
  EXPECT_EQ(read(C::kMinutes), 0x59);
  now_ += 60;
  EXPECT_EQ(read(C::kMinutes), 0x00);
  EXPECT_EQ(read(C::kHours), 0x15);
}

TEST_F(CmosTest, TwelveHourWritesDecodePm) {
  write(C::kStatusB, C::kBSet);  // 12-hour BCD
  write(C::kHours, 0x80 | 0x12);  // 12 PM = noon
  write(C::kStatusB, C::k24Hour);
  EXPECT_EQ(read(C::kHours), 0x12);
  write(C::kStatusB, C::kBSet);
  write(C::kHours, 0x12);  // 12 AM = midnight
  write(C::kStatusB, C::k24Hour);
  EXPECT_EQ(read(C::kHours), 0x00);
}

TEST_F(CmosTest, OutOfRangeFieldsAreClampedAndDaysRollOver) {
  write(C::kStatusB, C::kBSet | C::k24Hour);
  write(C::kSeconds, 0x99);
  write(C::kMonth, 0x02);
  write(C::kDayOfMonth, 0x31);
  write(C::kStatusB, C::k24Hour);
  EXPECT_EQ(read(C::kSeconds), 0x59);
  EXPECT_EQ(read(C::kMonth), 0x03);  // 2026-02-31 is 2026-03-03
  EXPECT_EQ(read(C::kDayOfMonth), 0x03);
}

TEST_F(CmosTest, CenturyWriteMovesTheYear) {
  write(C::kCentury, 0x21);
  EXPECT_EQ(read(C::kCentury), 0x21);
  EXPECT_EQ(read(C::kYear), 0x26);
}

TEST_F(CmosTest, ExtremeHostClocksStayRepresentable) {
  now_ = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(read(C::kCentury), 0x99);
  EXPECT_EQ(read(C::kYear), 0x99);
  EXPECT_EQ(read(C::kMonth), 0x12);
  EXPECT_EQ(read(C::kSeconds), 0x59);
  now_ = std::numeric_limits<int64_t>::min();
  EXPECT_EQ(read(C::kCentury), 0x00);
  EXPECT_EQ(read(C::kYear), 0x00);
  EXPECT_EQ(read(C::kDayOfMonth), 0x01);
}

TEST_F(CmosTest, WideReadFillsWithFloatingBus) {
  outb(cmos_, C::kIndexOffset, C::kStatusD);
  EXPECT_EQ(in_n(cmos_, C::kDataOffset, 2), (std::vector<uint8_t>{0x80, 0xff}));
}

}  // namespace
}  // namespace bulwark::legacy
