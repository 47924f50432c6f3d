#include "jailer/seccomp_audit_record.h"

#include <charconv>
#include <string>

namespace bulwark::jail {
namespace {

constexpr std::string_view kSeccompRecordType = "type=1326";

// The value of the token "key=VALUE" as a number in `base`, if exactly one such token exists.
template <typename Number>
std::optional<Number> numeric_field(std::string_view text, std::string_view key, int base) {
  std::optional<Number> found;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(' ', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view token = text.substr(pos, end - pos);
    pos = end + 1;
    if (token.size() <= key.size() || token.substr(0, key.size()) != key || token[key.size()] != '=') {
      continue;
    }
    const std::string_view value = token.substr(key.size() + 1);
    Number number{};
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), number, base);
    if (ec != std::errc() || ptr != value.data() + value.size() || found) return std::nullopt;
    found = number;
  }
  return found;
}

}  // namespace

std::optional<SeccompAuditRecord> parse_seccomp_audit_record(std::string_view record) {
  // /dev/kmsg: "<prefix>;<message>\n" followed by optional continuation lines (" KEY=VALUE").
  const size_t semicolon = record.find(';');
  if (semicolon == std::string_view::npos) return std::nullopt;
  std::string_view message = record.substr(semicolon + 1);
  if (const size_t newline = message.find('\n'); newline != std::string_view::npos) {
    message = message.substr(0, newline);
  }
  if (message.rfind("audit: ", 0) != 0) return std::nullopt;
  if (message.find(std::string(" ") + std::string(kSeccompRecordType) + " ") == std::string_view::npos) {
    return std::nullopt;
  }
  auto pid = numeric_field<long>(message, "pid", 10);
  auto signal = numeric_field<long>(message, "sig", 10);
  auto syscall = numeric_field<long>(message, "syscall", 10);
  auto arch = numeric_field<unsigned long>(message, "arch", 16);
  if (!pid || !signal || !syscall || !arch) return std::nullopt;
  return SeccompAuditRecord{*pid, *signal, *syscall, *arch};
}

}  // namespace bulwark::jail
