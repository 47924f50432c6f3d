#include "bulwark/common/log.h"

#include <unistd.h>

#include <atomic>
#include <string>

namespace bulwark::log {
namespace {
std::string g_program = "bulwark";
std::atomic<Level> g_min_level{Level::kInfo};
RecordFormatter g_formatter;
}  // namespace

const char* level_name(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warning";
    case Level::kError: return "error";
  }
  return "?";
}

void set_program_name(std::string_view name) { g_program = std::string(name); }
void set_min_level(Level level) { g_min_level = level; }
void set_record_formatter(RecordFormatter formatter) { g_formatter = std::move(formatter); }

std::string format_line(std::string_view program, Level level, std::string_view message) {
  static constexpr char kDigits[] = "0123456789abcdef";
  // Trailing newlines would only leave empty continuation lines.
  while (!message.empty() && message.back() == '\n') message.remove_suffix(1);
  std::string line;
  line.reserve(program.size() + message.size() + 16);
  line.append(program).append(": ").append(level_name(level)).append(": ");
  for (size_t i = 0; i < message.size(); ++i) {
    const auto byte = static_cast<unsigned char>(message[i]);
    if (byte == '\n') {
      // A continuation line (a register dump) is indented, so it can never pass for a record.
      line += '\n';
      if (message.substr(i + 1, 2) != "  ") line += "  ";
    } else if ((byte < 0x20 && byte != '\t') || byte == 0x7f) {
      line += "\\x";
      line += kDigits[byte >> 4];
      line += kDigits[byte & 0xf];
    } else {
      line += static_cast<char>(byte);
    }
  }
  line += '\n';
  return line;
}

void write(Level level, std::string_view message) {
  if (level < g_min_level.load()) return;
  // One write() per record so records from vCPU threads do not interleave.
  const std::string line = g_formatter ? g_formatter(level, message) : format_line(g_program, level, message);
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace bulwark::log
