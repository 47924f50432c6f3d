#include "devices/virtio/guest_memory_map.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace bulwark::virtio {
namespace {

TEST(GuestMemoryMap, TranslatesOnlyWholeRangesInsideOneRegion) {
  std::vector<uint8_t> a(0x1000), b(0x1000);
  GuestMemoryMap map;
  ASSERT_TRUE(map.add_region({0x0, 0x1000, 0x5000, a.data()}).ok());
  ASSERT_TRUE(map.add_region({0x1000, 0x1000, 0x9000, b.data()}).ok());
  auto inside = map.translate(0xff0, 0x10);
  ASSERT_TRUE(inside);
  EXPECT_EQ(inside->data(), a.data() + 0xff0);
  EXPECT_FALSE(map.translate(0xff0, 0x20)) << "crosses into the next region";
  EXPECT_FALSE(map.translate(0x2000, 1)) << "beyond every region";
  EXPECT_FALSE(map.translate(0x1fff, UINT64_MAX)) << "length overflows";
  EXPECT_FALSE(map.translate(UINT64_MAX, 2)) << "address wraps";
  EXPECT_TRUE(map.translate(0x2000 - 1, 1));
  EXPECT_TRUE(map.translate(0x1000, 0));
  EXPECT_EQ(map.frontend_to_guest(0x9010), 0x1010u);
  EXPECT_FALSE(map.frontend_to_guest(0x6000));
}

TEST(GuestMemoryMap, RefusesEmptyWrappingAndOverlappingRegions) {
  std::vector<uint8_t> a(0x1000);
  GuestMemoryMap map;
  EXPECT_FALSE(map.add_region({0x0, 0, 0, a.data()}).ok());
  EXPECT_FALSE(map.add_region({UINT64_MAX - 0x10, 0x1000, 0, a.data()}).ok());
  EXPECT_FALSE(map.add_region({0, 0x1000, UINT64_MAX - 0x10, a.data()}).ok());
  ASSERT_TRUE(map.add_region({0x0, 0x1000, 0x5000, a.data()}).ok());
  EXPECT_FALSE(map.add_region({0x800, 0x1000, 0x10000, a.data()}).ok());
  EXPECT_FALSE(map.add_region({0x8000, 0x1000, 0x5800, a.data()}).ok());
}

}  // namespace
}  // namespace bulwark::virtio
