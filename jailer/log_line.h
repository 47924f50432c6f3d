// One record of `bulwark run`'s log (issue 14), in the operator's chosen shape (--log-format):
// a line a VM's jailed process wrote, or one of the launcher's own messages. The lines are the
// VM processes' bytes, which a tenant influences (a guest can make a device or the monitor log
// what it likes): here a line is only ever text, escaped and never parsed as JSON, and the VM id
// and process name on its record are the launcher's, so a process cannot pass for another.
// No system calls: the fuzz target log_line drives it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "bulwark/common/result.h"

namespace bulwark::jail {

enum class LogFormat { kText, kJson };

// "text" or "json" (--log-format).
Result<LogFormat> parse_log_format(std::string_view text);

// A line longer than this is cut here (line_splitter.h) and its record marked "…[cut]".
inline constexpr size_t kMaxRelayedLineBytes = 4096;
inline constexpr std::string_view kCutMarker = "\xe2\x80\xa6[cut]";  // "…[cut]"

// Who a record is about; both named by the launcher.
struct LogSource {
  std::string_view vm_id;
  std::string_view process;  // "monitor", "dev-blk:blk0", "api", ...
};

// The level of a line shaped as bulwark/common/log.h writes it, "program: level: message" with a
// program of 1 to 64 characters from [A-Za-z0-9._-] and a level among debug, info, warning and
// error: that level. Any other line: "info".
std::string_view relayed_line_level(std::string_view line);

// The least level the log relay passes on (PUT /logger's "level"): a relayed line whose level
// (relayed_line_level: a line not in log.h's shape counts as info) is below it is not written.
enum class RelayLevel : uint8_t { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kOff = 4 };

// Firecracker's level names as bulwark-api forwards them: Error, Warning, Info, Debug, Trace (as
// Debug: Bulwark's processes log nothing finer) or Off; "" is Info (Firecracker's default).
Result<RelayLevel> parse_relay_level(std::string_view firecracker_level);

// Whether a line (or record) of `line_level` (relayed_line_level's) passes `minimum`.
bool relay_level_passes(RelayLevel minimum, std::string_view line_level);

// RFC 3339, UTC, milliseconds: "2024-05-01T12:34:56.789Z".
std::string rfc3339_utc_ms(std::chrono::system_clock::time_point time);

// The record, newline included, of one line (without its newline) a process wrote; `cut`: the
// line went on beyond kMaxRelayedLineBytes and this is its start. Text:
// "bulwark[<vm>/<process>]: <escaped line>"; JSON: {"time","level","vm","process","message"}.
// Control characters and invalid UTF-8 are escaped as \n, \t, \xNN (config::printable_text).
std::string format_relayed_line(LogFormat format, const LogSource& source, std::string_view line, bool cut,
                                std::chrono::system_clock::time_point now);

// The launcher's record that `count` lines of `source` were dropped by its rate limit. Text:
// the launcher's own shape ("bulwark: warning: VM <vm>: <process>: N lines dropped (rate
// limit)"), which no relayed line can take; JSON: level warning, "fields": {"dropped": N}.
std::string format_dropped_lines(LogFormat format, const LogSource& source, uint64_t count,
                                 std::chrono::system_clock::time_point now);

// One of the launcher's own records in JSON: process "launcher", `level` as log::level_name()
// gives it, the message escaped like a relayed line. Newline included.
std::string format_launcher_json(std::string_view vm_id, std::string_view level, std::string_view message,
                                 std::chrono::system_clock::time_point now);

}  // namespace bulwark::jail
