#include "monitor/boot/guest_layout.h"

#include <gtest/gtest.h>

namespace bulwark::boot {
namespace {

TEST(GuestLayout, SmallGuestIsOneRangeFromZero) {
  const auto layout = GuestLayout::for_ram_size(64ULL << 20);
  ASSERT_EQ(layout.ram_ranges().size(), 1u);
  EXPECT_EQ(layout.low_ram_end(), 64ULL << 20);
  EXPECT_TRUE(layout.is_ram(0, 64ULL << 20));
  EXPECT_FALSE(layout.is_ram(0, (64ULL << 20) + 1));
  EXPECT_FALSE(layout.is_ram(UINT64_MAX - 1, 4)) << "no wrap-around";
}

TEST(GuestLayout, LargeGuestSkipsTheMmioHoleAndContinuesAt4GiB) {
  const uint64_t ram = 6ULL << 30;
  const auto layout = GuestLayout::for_ram_size(ram);
  ASSERT_EQ(layout.ram_ranges().size(), 2u);
  EXPECT_EQ(layout.low_ram_end(), kMmioHoleStart);
  EXPECT_EQ(layout.ram_ranges()[1].guest_addr, kMmioHoleEnd);
  EXPECT_EQ(layout.ram_ranges()[1].size, ram - kMmioHoleStart) << "no RAM lost to the hole";
  EXPECT_FALSE(layout.is_ram(kIoApicAddr, 4)) << "the IOAPIC is never RAM";
  EXPECT_FALSE(layout.is_ram(kMmioHoleStart - 8, 16)) << "a range may not run into the hole";

  const auto e820 = layout.e820_map();
  uint64_t usable = 0;
  for (const E820Entry& e : e820) {
    if (e.type != E820Type::kRam) continue;
    usable += e.size;
    EXPECT_TRUE(e.addr + e.size <= kMmioHoleStart || e.addr >= kMmioHoleEnd) << "RAM entry overlaps the hole";
  }
  // Everything but the EBDA/BIOS area below 1 MiB is handed to the guest.
  EXPECT_EQ(usable, ram - (kHighMemStart - kEbdaStart));
}

}  // namespace
}  // namespace bulwark::boot
