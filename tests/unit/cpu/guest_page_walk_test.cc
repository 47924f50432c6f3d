#include "monitor/cpu/guest_page_walk.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace bulwark::cpu {
namespace {

class FakeRam {
 public:
  explicit FakeRam(size_t size) : bytes_(size, 0) {}
  void put64(uint64_t gpa, uint64_t v) { std::memcpy(bytes_.data() + gpa, &v, 8); }
  GuestPhysicalView view() {
    return [this](uint64_t gpa, uint64_t len) -> std::optional<std::span<uint8_t>> {
      if (gpa > bytes_.size() || len > bytes_.size() - gpa) return std::nullopt;
      return std::span<uint8_t>(bytes_.data() + gpa, len);
    };
  }

 private:
  std::vector<uint8_t> bytes_;
};

constexpr uint64_t kP = 1, kPs = 0x80;

TEST(GuestPageWalk, TranslatesFourKilobyteTwoMegabyteAndOneGigabytePages) {
  FakeRam ram(1 << 20);
  // PML4 at 0x1000 -> PDPT at 0x2000 -> PD at 0x3000 -> PT at 0x4000.
  ram.put64(0x1000, 0x2000 | kP);
  ram.put64(0x2000, 0x3000 | kP);
  ram.put64(0x2000 + 8, 0x40000000 | kP | kPs);  // 1 GiB page for 1G..2G
  ram.put64(0x3000, 0x4000 | kP);
  ram.put64(0x3000 + 8, 0x200000 | kP | kPs);  // 2 MiB page for 2M..4M
  ram.put64(0x4000 + 5 * 8, 0x7000 | kP);      // 4K page: VA 0x5000 -> 0x7000
  auto v = ram.view();
  EXPECT_EQ(translate_guest_virtual(v, 0x1000, 0x5123), 0x7123u);
  EXPECT_EQ(translate_guest_virtual(v, 0x1000, 0x234567), 0x234567u);
  EXPECT_EQ(translate_guest_virtual(v, 0x1000, 0x40001234), 0x40001234u);
  EXPECT_EQ(translate_guest_virtual(v, 0x1000, 0x6000), std::nullopt) << "not present";
}

TEST(GuestPageWalk, TablesOutsideRamFailInsteadOfReadingHostMemory) {
  FakeRam ram(0x5000);
  ram.put64(0x1000, 0xfffff000 | kP);  // PDPT far outside RAM
  auto v = ram.view();
  EXPECT_EQ(translate_guest_virtual(v, 0x1000, 0x0), std::nullopt);
  EXPECT_EQ(translate_guest_virtual(v, 0xffffffffff000, 0x0), std::nullopt) << "CR3 outside RAM";
  EXPECT_EQ(read_guest_virtual_u64(v, 0x1000, 0xfff), std::nullopt);
}

TEST(GuestPageWalk, ReadsAU64StraddlingTwoPages) {
  FakeRam ram(1 << 20);
  ram.put64(0x1000, 0x2000 | kP);
  ram.put64(0x2000, 0x3000 | kP);
  ram.put64(0x3000, 0x4000 | kP);
  ram.put64(0x4000 + 0 * 8, 0x9000 | kP);  // VA page 0 -> 0x9000
  ram.put64(0x4000 + 1 * 8, 0x6000 | kP);  // VA page 1 -> 0x6000 (not contiguous)
  ram.put64(0x9ff8, 0x44332211ULL << 32);  // bytes 0x9ffc..0x9fff
  ram.put64(0x6000, 0x88776655ULL);
  EXPECT_EQ(read_guest_virtual_u64(ram.view(), 0x1000, 0xffc), 0x8877665544332211ULL);
}

}  // namespace
}  // namespace bulwark::cpu
