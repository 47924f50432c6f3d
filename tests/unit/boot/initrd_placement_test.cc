#include "monitor/boot/initrd_placement.h"

#include <gtest/gtest.h>

#include "tests/unit/boot/image_builders.h"

namespace bulwark::boot {
namespace {

using testing::kMiB;

KernelImage kernel_at(uint64_t addr, uint64_t size, uint64_t initrd_addr_max = 0x7fffffff) {
  KernelImage k;
  k.segments.push_back({addr, {}, size});
  k.initrd_addr_max = initrd_addr_max;
  return k;
}

TEST(InitrdPlacement, NoInitrdIsAddressZero) {
  auto addr = place_initrd(0, kernel_at(kMiB, kMiB), GuestLayout::for_ram_size(64 * kMiB));
  ASSERT_TRUE(addr.ok());
  EXPECT_EQ(*addr, 0u);
}

TEST(InitrdPlacement, HighestPageAlignedAddressBelowTheCeiling) {
  struct Case {
    const char* name;
    uint64_t ram;
    KernelImage kernel;
    uint64_t size;
    uint64_t expected;
  };
  const Case cases[] = {
      {"top of 64 MiB", 64 * kMiB, kernel_at(16 * kMiB, kMiB), 0x1234, 64 * kMiB - 0x2000},
      {"exact page multiple", 64 * kMiB, kernel_at(16 * kMiB, kMiB), 0x3000, 64 * kMiB - 0x3000},
      {"initrd_addr_max below RAM end", 64 * kMiB, kernel_at(16 * kMiB, kMiB, 0x2ffffff), 0x1001,
       0x3000000 - 0x2000},
      {"unaligned initrd_addr_max", 64 * kMiB, kernel_at(16 * kMiB, kMiB, 0x2fff7ff), 0x1000,
       0x2ffe000},
      {"ELF default 2 GiB limit", uint64_t{8} << 30, kernel_at(16 * kMiB, kMiB), 0x1000,
       0x80000000 - 0x1000},
      {"4 GiB limit stops at MMIO hole", uint64_t{8} << 30, kernel_at(16 * kMiB, kMiB, 0xffffffff),
       0x1000, kMmioHoleStart - 0x1000},
      {"fills the gap above the kernel exactly", 64 * kMiB, kernel_at(16 * kMiB, 46 * kMiB), 2 * kMiB,
       62 * kMiB},
      {"below the kernel when above is full", 64 * kMiB, kernel_at(16 * kMiB, 48 * kMiB), 0x1800,
       16 * kMiB - 0x2000},
      {"below a kernel that sits above initrd_addr_max", 64 * kMiB,
       kernel_at(40 * kMiB, kMiB, 32 * kMiB - 1), 0x1000, 32 * kMiB - 0x1000},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto addr = place_initrd(c.size, c.kernel, GuestLayout::for_ram_size(c.ram));
    ASSERT_TRUE(addr.ok()) << addr.error().message();
    EXPECT_EQ(*addr, c.expected);
    EXPECT_EQ(*addr % 4096, 0u);
    EXPECT_LE(*addr + c.size - 1, c.kernel.initrd_addr_max);
    const bool clear_of_kernel = *addr + c.size <= c.kernel.lowest_addr() || *addr >= c.kernel.end_addr();
    EXPECT_TRUE(clear_of_kernel);
    EXPECT_GE(*addr, kHighMemStart);
  }
}

TEST(InitrdPlacement, TooLargeNamesTheSizes) {
  const GuestLayout layout = GuestLayout::for_ram_size(64 * kMiB);
  // Kernel at 16..48 MiB: 15 MiB free below, 16 MiB above.
  auto addr = place_initrd(16 * kMiB + 1, kernel_at(16 * kMiB, 32 * kMiB), layout);
  ASSERT_FALSE(addr.ok());
  EXPECT_EQ(addr.error().message(),
            "initrd of 0x1000001 bytes does not fit between 0x100000 (1 MiB) and 0x4000000 (the "
            "lowest of initrd_addr_max+1 0x80000000 and the end of RAM below 4 GiB 0x4000000) "
            "outside the kernel at 0x1000000..0x3000000: the largest free gap is 0x1000000 bytes");
  // Exactly the gap above fits.
  EXPECT_TRUE(place_initrd(16 * kMiB, kernel_at(16 * kMiB, 32 * kMiB), layout).ok());
}

TEST(InitrdPlacement, NeverBelowOneMiB) {
  const GuestLayout layout = GuestLayout::for_ram_size(64 * kMiB);
  // initrd_addr_max under 1 MiB leaves no room at all.
  auto addr = place_initrd(0x1000, kernel_at(16 * kMiB, kMiB, 0xfffff), layout);
  ASSERT_FALSE(addr.ok());
  EXPECT_NE(addr.error().message().find("largest free gap is 0x0 bytes"), std::string::npos)
      << addr.error().message();
  // Kernel from 1 MiB to the top of RAM.
  EXPECT_FALSE(place_initrd(0x1000, kernel_at(kMiB, 63 * kMiB), layout).ok());
}

}  // namespace
}  // namespace bulwark::boot
