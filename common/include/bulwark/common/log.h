// Minimal leveled logging to stderr, one line per message, prefixed with the program name.
#pragma once

#include <string_view>

namespace bulwark::log {

enum class Level { kDebug, kInfo, kWarn, kError };

void set_program_name(std::string_view name);
void set_min_level(Level level);
void write(Level level, std::string_view message);

inline void debug(std::string_view m) { write(Level::kDebug, m); }
inline void info(std::string_view m) { write(Level::kInfo, m); }
inline void warn(std::string_view m) { write(Level::kWarn, m); }
inline void error(std::string_view m) { write(Level::kError, m); }

}  // namespace bulwark::log
