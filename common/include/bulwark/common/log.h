// Minimal leveled logging to stderr, one record per message, prefixed with the program name.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace bulwark::log {

enum class Level { kDebug, kInfo, kWarn, kError };

void set_program_name(std::string_view name);
void set_min_level(Level level);
void write(Level level, std::string_view message);

// "debug", "info", "warning", "error": the level as records name it.
const char* level_name(Level level);

// Another shape for this program's own records than format_line()'s (the launcher's
// --log-format json): `formatter` returns the whole record, newline included. Set it before any
// thread starts; an empty function restores format_line().
using RecordFormatter = std::function<std::string(Level level, std::string_view message)>;
void set_record_formatter(RecordFormatter formatter);

// The bytes write() puts on stderr for one record: "program: level: message\n". Defence in
// depth against log injection (callers still quote what they echo): every record starts at
// column 0 with the program name; a newline inside the message starts a continuation line
// indented by two spaces, so nothing inside a message can pass for a record of its own; other
// control characters (CR, ESC and its terminal sequences) are written as \xNN.
std::string format_line(std::string_view program, Level level, std::string_view message);

inline void debug(std::string_view m) { write(Level::kDebug, m); }
inline void info(std::string_view m) { write(Level::kInfo, m); }
inline void warn(std::string_view m) { write(Level::kWarn, m); }
inline void error(std::string_view m) { write(Level::kError, m); }

}  // namespace bulwark::log
