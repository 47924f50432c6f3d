#include "monitor/config/memory_size.h"

#include <array>
#include <string>
#include <utility>

#include "monitor/config/message_text.h"
#include "monitor/config/vm_config.h"

namespace bulwark::config {

namespace {

bool equals_ignoring_ascii_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

constexpr std::array<std::pair<std::string_view, uint64_t>, 7> kUnitsInMib{{
    {"", 1},
    {"M", 1},
    {"MiB", 1},
    {"G", 1024},
    {"GiB", 1024},
    {"T", 1024 * 1024},
    {"TiB", 1024 * 1024},
}};

}  // namespace

Result<uint64_t> parse_memory_size_mib(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) {
    return Error("expected a size like 512, 512M or 2G (MiB if no unit), got " + quoted_text(text));
  }
  const std::string too_large = quoted_text(text) + " is too large (at most " +
                                std::to_string(kMaxMemoryMib) + " MiB = 1 TiB)";
  uint64_t number = 0;
  for (size_t i = 0; i < digits; ++i) {
    const uint64_t digit = static_cast<uint64_t>(text[i] - '0');
    // Anything past the maximum is refused, so stopping there also rules out overflow.
    if (number > (kMaxMemoryMib - digit) / 10) return Error(too_large);
    number = number * 10 + digit;
  }
  const std::string_view unit = text.substr(digits);
  uint64_t mib_per_unit = 0;
  for (const auto& [name, mib] : kUnitsInMib) {
    if (equals_ignoring_ascii_case(unit, name)) mib_per_unit = mib;
  }
  if (mib_per_unit == 0) {
    return Error("unknown unit " + quoted_text(unit) + " in " + quoted_text(text) +
                 " (expected M, MiB, G, GiB, T or TiB; no unit means MiB)");
  }
  if (number == 0) return Error("must not be 0");
  if (number > kMaxMemoryMib / mib_per_unit) return Error(too_large);
  const uint64_t mib = number * mib_per_unit;
  if (mib < kMinMemoryMib) {
    return Error(quoted_text(text) + " is too small (at least " + std::to_string(kMinMemoryMib) +
                 " MiB)");
  }
  return mib;
}

}  // namespace bulwark::config
