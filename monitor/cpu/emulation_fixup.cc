#include "monitor/cpu/emulation_fixup.h"

#include <algorithm>

namespace bulwark::cpu {

Fixup decode_emulation_fixup(std::span<const uint8_t> insn) {
  if (insn.empty()) return {};
  if (insn[0] == 0xcc) return {FixupKind::kInt3, 1};
  if (insn[0] == 0x9b) return {FixupKind::kFwait, 1};
  if (insn.size() >= 3 && insn[0] == 0x0f && insn[1] == 0x01) {
    if (insn[2] == 0xca) return {FixupKind::kClac, 3};
    if (insn[2] == 0xcb) return {FixupKind::kStac, 3};
    if (insn[2] == 0xf8) return {FixupKind::kSwapgs, 3};
  }
  return {};
}

std::string_view fixup_name(FixupKind kind) {
  switch (kind) {
    case FixupKind::kNone: return "none";
    case FixupKind::kInt3: return "INT3";
    case FixupKind::kFwait: return "FWAIT";
    case FixupKind::kClac: return "CLAC";
    case FixupKind::kStac: return "STAC";
    case FixupKind::kSwapgs: return "SWAPGS";
  }
  return "?";
}

uint8_t leading_nop_length(std::span<const uint8_t> code) {
  static constexpr uint8_t kForms[][6] = {
      {0x90},
      {0x66, 0x90},
      {0x0f, 0x1f, 0x00},
      {0x0f, 0x1f, 0x40, 0x00},
      {0x0f, 0x1f, 0x44, 0x00, 0x00},
      {0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00},
      {0xf3, 0x0f, 0x1e, 0xfa},  // ENDBR64
  };
  static constexpr uint8_t kLengths[] = {1, 2, 3, 4, 5, 6, 4};
  for (size_t i = 0; i < std::size(kForms); ++i) {
    const uint8_t len = kLengths[i];
    if (code.size() >= len && std::equal(code.begin(), code.begin() + len, kForms[i])) return len;
  }
  return 0;
}

std::span<const uint8_t> emulation_failure_bytes(uint32_t ndata, std::span<const uint64_t> data) {
  const size_t words = std::min<size_t>(ndata, data.size());
  if (words < 2 || (data[0] & 1) == 0) return {};
  const auto* raw = reinterpret_cast<const uint8_t*>(&data[1]);
  const size_t available = (words - 1) * 8 - 1;  // bytes after the length byte
  const size_t length = std::min<size_t>({raw[0], available, 15});
  return {raw + 1, length};
}

}  // namespace bulwark::cpu
