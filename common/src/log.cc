#include "bulwark/common/log.h"

#include <unistd.h>

#include <atomic>
#include <string>

namespace bulwark::log {
namespace {
std::string g_program = "bulwark";
std::atomic<Level> g_min_level{Level::kInfo};

const char* level_name(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warning";
    case Level::kError: return "error";
  }
  return "?";
}
}  // namespace

void set_program_name(std::string_view name) { g_program = std::string(name); }
void set_min_level(Level level) { g_min_level = level; }

void write(Level level, std::string_view message) {
  if (level < g_min_level.load()) return;
  // One write() per line so lines from vCPU threads do not interleave.
  std::string line = g_program + ": " + level_name(level) + ": " + std::string(message) + "\n";
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
