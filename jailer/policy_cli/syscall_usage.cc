#include "jailer/policy_cli/syscall_usage.h"

#include <algorithm>
#include <charconv>
#include <vector>

namespace bulwark::policy_cli {

namespace {

constexpr uint64_t kMaxCount = uint64_t{1} << 62;  // far above any run; keeps sums from wrapping

std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> words;
  size_t pos = 0;
  while (pos < line.size()) {
    while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) ++pos;
    const size_t start = pos;
    while (pos < line.size() && line[pos] != ' ' && line[pos] != '\t') ++pos;
    if (pos > start) words.push_back(line.substr(start, pos - start));
  }
  return words;
}

template <typename T>
bool parse_number(std::string_view text, T& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

bool is_name(std::string_view text) {
  if (text.empty() || text.size() > 255) return false;
  for (char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string format_syscall_usage(const SyscallUsage& usage) {
  std::string out =
      "# bulwark policy record: POLICY SLOT SYSCALL CALLS (slot 0: allowed by no rule)\n";
  for (const auto& [key, count] : usage) {
    out += key.policy_file + " " + std::to_string(key.slot) + " " + key.syscall + " " +
           std::to_string(count) + "\n";
  }
  return out;
}

Status parse_syscall_usage(std::string_view text, SyscallUsage& usage) {
  size_t pos = 0;
  int line_number = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_number;
    const auto words = split_words(line);
    if (words.empty() || words[0].front() == '#') continue;
    const std::string at = "line " + std::to_string(line_number) + ": ";
    UsageKey key;
    uint64_t count = 0;
    if (words.size() != 4) return Error(at + "expected POLICY SLOT SYSCALL CALLS");
    if (!is_name(words[0]) || !is_name(words[2])) return Error(at + "malformed policy or system call name");
    if (!parse_number(words[1], key.slot) || key.slot > 0xfff) return Error(at + "slot is not 0 to 4095");
    if (!parse_number(words[3], count) || count > kMaxCount) return Error(at + "malformed call count");
    key.policy_file = std::string(words[0]);
    key.syscall = std::string(words[2]);
    uint64_t& total = usage[key];
    total = std::min(kMaxCount, total + count);
  }
  return ok_status();
}

}  // namespace bulwark::policy_cli
