// Guest page tables are guest-controlled bytes the monitor walks (emulated-host SYSCALL fix).
// Input: 8 bytes CR3, 8 bytes virtual address, the rest is guest RAM (at guest-physical 0).
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "monitor/cpu/emulation_fixup.h"
#include "monitor/cpu/guest_page_walk.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 16) return 0;
  uint64_t cr3, gva;
  std::memcpy(&cr3, data, 8);
  std::memcpy(&gva, data + 8, 8);
  std::vector<uint8_t> ram(data + 16, data + size);
  const bulwark::cpu::GuestPhysicalView view = [&ram](uint64_t gpa, uint64_t len) -> std::optional<std::span<uint8_t>> {
    if (gpa > ram.size() || len > ram.size() - gpa) return std::nullopt;
    return std::span<uint8_t>(ram.data() + gpa, len);
  };
  // Small RAM sizes make most tables fall outside RAM; mask CR3 into RAM half the time.
  if (!ram.empty() && (cr3 & 1)) cr3 %= ram.size();
  auto gpa = bulwark::cpu::translate_guest_virtual(view, cr3, gva);
  if (gpa && (gpa.value() & 0xfff) != (gva & 0xfff)) __builtin_trap();  // offset within page kept
  (void)bulwark::cpu::read_guest_virtual_u64(view, cr3, gva);
  // The same bytes as an emulation-failure record.
  std::vector<uint64_t> words((size + 7) / 8);
  std::memcpy(words.data(), data, size);
  auto bytes = bulwark::cpu::emulation_failure_bytes(static_cast<uint32_t>(data[0]), words);
  if (bytes.size() > 15) __builtin_trap();
  (void)bulwark::cpu::decode_emulation_fixup(bytes);
  if (bulwark::cpu::leading_nop_length(std::span<const uint8_t>(data, size)) > 6) __builtin_trap();
  return 0;
}
