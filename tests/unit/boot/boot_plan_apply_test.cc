#include <gtest/gtest.h>

#include <algorithm>

#include "monitor/boot/boot_plan.h"
#include "tests/unit/boot/image_builders.h"

namespace bulwark::boot {
namespace {

using testing::BzImageBuilder;
using testing::ElfBuilder;
using testing::kMiB;

// Guest RAM in a host vector, pre-filled with 0xcc so zero-fill and untouched bytes show.
class FakeGuestMemory {
 public:
  explicit FakeGuestMemory(const GuestLayout& layout) : layout_(layout), ram_(layout.low_ram_end(), 0xcc) {}
  GuestSpanProvider provider() {
    return [this](uint64_t gpa, uint64_t len) -> std::optional<std::span<uint8_t>> {
      ++calls_;
      if (!layout_.is_ram(gpa, len) || gpa + len > ram_.size()) return std::nullopt;
      return std::span<uint8_t>(ram_).subspan(gpa, len);
    };
  }
  std::span<const uint8_t> at(uint64_t gpa, uint64_t len) const { return std::span(ram_).subspan(gpa, len); }
  bool all_untouched() const {
    return std::all_of(ram_.begin(), ram_.end(), [](uint8_t b) { return b == 0xcc; });
  }
  int calls() const { return calls_; }

 private:
  GuestLayout layout_;
  std::vector<uint8_t> ram_;
  int calls_ = 0;
};

bool all_zero(std::span<const uint8_t> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

TEST(ApplyBootPlan, WritesEveryPieceAndZeroFillsSegments) {
  const GuestLayout layout = GuestLayout::for_ram_size(32 * kMiB);
  FakeGuestMemory mem(layout);
  const std::vector<uint8_t> kernel = BzImageBuilder().bytes();
  const std::vector<uint8_t> initrd(0x1800, 0x5a);
  auto plan = plan_linux_boot(kernel, initrd, "console=ttyS0", layout, 0);
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  ASSERT_TRUE(apply_boot_plan(*plan, mem.provider()).ok());

  // Payload at 16 MiB, then zeros to init_size.
  const auto payload = mem.at(16 * kMiB, 0x1000);
  EXPECT_TRUE(std::equal(payload.begin(), payload.end(), kernel.begin() + 0x400));
  EXPECT_TRUE(all_zero(mem.at(16 * kMiB + 0x1000, 0x100000 - 0x1000)));
  EXPECT_EQ(mem.at(17 * kMiB, 1)[0], 0xcc);  // nothing past init_size

  const auto page = mem.at(kZeroPageAddr, 4096);
  EXPECT_TRUE(std::equal(page.begin(), page.end(), plan->writes[0].bytes.begin()));
  const auto cmdline = mem.at(kCmdlineAddr, 14);
  EXPECT_EQ(std::string(cmdline.begin(), cmdline.end()), std::string("console=ttyS0\0", 14));

  ASSERT_EQ(plan->initrd_addr, 32 * kMiB - 0x2000);
  const auto placed = mem.at(plan->initrd_addr, initrd.size());
  EXPECT_TRUE(std::equal(placed.begin(), placed.end(), initrd.begin()));
  EXPECT_EQ(mem.at(plan->initrd_addr + initrd.size(), 1)[0], 0xcc);
}

TEST(ApplyBootPlan, ElfSegmentsLandAtTheirPhysicalAddresses) {
  const GuestLayout layout = GuestLayout::for_ram_size(8 * kMiB);
  FakeGuestMemory mem(layout);
  ElfBuilder b;
  b.add_load(4 * kMiB, 0x1100, 0x100, 0x100);
  const std::vector<uint8_t> kernel = b.bytes();
  auto plan = plan_linux_boot(kernel, {}, "", layout, 0);
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  ASSERT_TRUE(apply_boot_plan(*plan, mem.provider()).ok());
  const auto first = mem.at(kMiB, 0x200);
  EXPECT_TRUE(std::equal(first.begin(), first.end(), kernel.begin() + 0x1000));
  EXPECT_TRUE(all_zero(mem.at(kMiB + 0x200, 0x2e00)));
  const auto second = mem.at(4 * kMiB, 0x100);
  EXPECT_TRUE(std::equal(second.begin(), second.end(), kernel.begin() + 0x1100));
}

TEST(ApplyBootPlan, RefusesNonRamBeforeWritingAnything) {
  const GuestLayout layout = GuestLayout::for_ram_size(8 * kMiB);
  FakeGuestMemory mem(layout);
  const std::vector<uint8_t> kernel = ElfBuilder().bytes();
  auto plan = plan_linux_boot(kernel, {}, "", layout, 0);
  ASSERT_TRUE(plan.ok());
  const std::vector<uint8_t> initrd(0x1000, 1);
  plan->initrd = initrd;
  plan->initrd_addr = 8 * kMiB - 0x800;  // straddles the end of RAM
  auto status = apply_boot_plan(*plan, mem.provider());
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message(), "boot plan: initrd at 0x7ff800..0x800800 is not guest RAM");
  EXPECT_TRUE(mem.all_untouched());
}

TEST(ApplyBootPlan, RefusesOverlappingPieces) {
  const GuestLayout layout = GuestLayout::for_ram_size(8 * kMiB);
  FakeGuestMemory mem(layout);
  const std::vector<uint8_t> kernel = ElfBuilder().bytes();
  auto plan = plan_linux_boot(kernel, {}, "", layout, 0);
  ASSERT_TRUE(plan.ok());
  const std::vector<uint8_t> initrd(0x1000, 1);
  plan->initrd = initrd;
  plan->initrd_addr = kMiB + 0x2000;  // inside the kernel's zero-filled tail
  auto status = apply_boot_plan(*plan, mem.provider());
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message(), "boot plan: initrd at 0x102000 overlaps kernel segment 0 at 0x100000..0x103000");
  EXPECT_EQ(mem.calls(), 0);
  EXPECT_TRUE(mem.all_untouched());

  // A boot write inside a kernel segment is caught as well.
  plan->initrd = {};
  plan->writes.push_back({kMiB + 0x100, {1, 2, 3}});
  plan->kernel_segments.push_back({kMiB + 0x2000, {}, 0x10});
  status = apply_boot_plan(*plan, mem.provider());
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message().find("overlaps kernel segment 0"), std::string::npos) << status.error().message();
}

TEST(ApplyBootPlan, RefusesMalformedPieces) {
  const GuestLayout layout = GuestLayout::for_ram_size(8 * kMiB);
  FakeGuestMemory mem(layout);
  const std::vector<uint8_t> bytes(0x100, 7);
  BootPlan plan;
  plan.kernel_segments.push_back({kMiB, bytes, 0x80});
  auto status = apply_boot_plan(plan, mem.provider());
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message(), "boot plan: kernel segment 0 has 0x100 bytes but mem_size 0x80");

  plan.kernel_segments = {{UINT64_MAX - 0xf, {}, 0x20}};
  status = apply_boot_plan(plan, mem.provider());
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message().find("wraps past the top"), std::string::npos);

  // A provider handing back the wrong length is a monitor bug; refuse rather than overrun.
  plan.kernel_segments = {{kMiB, bytes, 0x100}};
  status = apply_boot_plan(plan, [](uint64_t, uint64_t) -> std::optional<std::span<uint8_t>> {
    static uint8_t small[16];
    return std::span<uint8_t>(small);
  });
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message(), "boot plan: guest memory returned 0x10 bytes for kernel segment 0, which needs 0x100");
  EXPECT_TRUE(mem.all_untouched());
}

}  // namespace
}  // namespace bulwark::boot
