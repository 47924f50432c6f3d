// Lower-case hex text of bytes and back, for digests and nonces on the attest command line and
// in reference files (tenant input: parse_hex refuses odd lengths, non-hex characters and more
// than `max_bytes`).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/common/result.h"

namespace bulwark::attestation {

inline std::string to_hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  text.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    text.push_back(kDigits[b >> 4]);
    text.push_back(kDigits[b & 0xF]);
  }
  return text;
}

inline Result<std::vector<uint8_t>> parse_hex(std::string_view text, size_t max_bytes) {
  if (text.size() % 2 != 0) return Error("hex: an odd number of digits");
  if (text.size() / 2 > max_bytes) return Error("hex: more than " + std::to_string(max_bytes) + " bytes");
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::vector<uint8_t> bytes;
  bytes.reserve(text.size() / 2);
  for (size_t i = 0; i < text.size(); i += 2) {
    const int high = digit(text[i]), low = digit(text[i + 1]);
    if (high < 0 || low < 0) return Error("hex: a character that is not a hex digit at " + std::to_string(i));
    bytes.push_back(static_cast<uint8_t>(high << 4 | low));
  }
  return bytes;
}

}  // namespace bulwark::attestation
