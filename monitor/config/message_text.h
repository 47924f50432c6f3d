// Untrusted text (JSON keys and values, argv) echoed back in error messages. It is escaped so it
// cannot inject terminal control sequences or invalid UTF-8 into a log, and cut short so a huge
// value cannot flood one.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace bulwark::config {

inline constexpr size_t kMaxEchoedBytes = 80;

// Valid UTF-8 printable text is kept; control characters become \n, \t, \xNN; bytes that are
// not part of a valid UTF-8 sequence become \xNN. Longer input is cut (at a character boundary)
// after max_bytes and gets "...".
std::string printable_text(std::string_view text, size_t max_bytes = kMaxEchoedBytes);

// printable_text() in double quotes, with '"' and '\' escaped too: "two", "a\"b".
std::string quoted_text(std::string_view text, size_t max_bytes = kMaxEchoedBytes);

// A file path in a message: quoted_text() with room for a whole PATH_MAX path, so a path with
// a newline or an escape sequence stays on its one log line and cannot fake another.
inline constexpr size_t kMaxEchoedPathBytes = 4096;
inline std::string quoted_path(std::string_view path) { return quoted_text(path, kMaxEchoedPathBytes); }

// Length of the well-formed UTF-8 sequence starting at text[pos] (1..4), or 0 if there is none
// (stray continuation byte, overlong form, surrogate, beyond U+10FFFF, truncated sequence).
size_t utf8_sequence_length(std::string_view text, size_t pos);

}  // namespace bulwark::config
