// The whole boot path on hostile input: kernel, initrd and command line from one fuzz input,
// planned and applied to a fake 32 MiB guest. Input layout:
//   [u16 cmdline_len][u32 initrd_len][cmdline][initrd][kernel: the rest]
// Lengths beyond the input are clamped, so every input is used.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "monitor/boot/boot_plan.h"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

constexpr uint64_t kRamBytes = 32 << 20;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bulwark::boot;
  static const GuestLayout layout = GuestLayout::for_ram_size(kRamBytes);
  static std::vector<uint8_t> ram(kRamBytes);

  if (size < 6) return 0;
  uint16_t cmdline_len;
  uint32_t initrd_len;
  std::memcpy(&cmdline_len, data, 2);
  std::memcpy(&initrd_len, data + 2, 4);
  std::span<const uint8_t> rest(data + 6, size - 6);
  const size_t cl = std::min<size_t>(cmdline_len, rest.size());
  const std::string_view cmdline(reinterpret_cast<const char*>(rest.data()), cl);
  rest = rest.subspan(cl);
  const size_t il = std::min<size_t>(initrd_len, rest.size());
  const std::span<const uint8_t> initrd = rest.first(il);
  const std::span<const uint8_t> kernel = rest.subspan(il);

  auto plan = plan_linux_boot(kernel, initrd, cmdline, layout, 0xe0000);
  if (!plan.ok()) return 0;
  check(plan->zero_page_addr == kZeroPageAddr);
  check(plan->initrd.size() == initrd.size());
  if (!initrd.empty()) {
    check(plan->initrd_addr % 4096 == 0 && plan->initrd_addr >= kHighMemStart);
    check(layout.is_ram(plan->initrd_addr, initrd.size()));
  }
  // Everything the plan holds must apply cleanly to RAM: the planner never emits a piece the
  // apply step would refuse.
  const auto status = apply_boot_plan(*plan, [](uint64_t gpa, uint64_t len) -> std::optional<std::span<uint8_t>> {
    if (!layout.is_ram(gpa, len) || gpa > ram.size() || len > ram.size() - gpa) return std::nullopt;
    return std::span<uint8_t>(ram).subspan(gpa, len);
  });
  check(status.ok());
  return 0;
}
