// The rules a string on the command channel must follow (api/command/README.md). The input is
// what a possibly compromised bulwark-api sends the launcher (or the launcher's reply bodies):
// checked here so the launcher never hands a path with a NUL, an escape sequence or invalid
// UTF-8 to a syscall or a log.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace bulwark::api::wire {

enum class TextCharset : uint8_t {
  kPlain,      // valid UTF-8 without control characters (C0, DEL, C1)
  kId,         // [A-Za-z0-9_-] only
  kMultiline,  // as kPlain, but TAB and LF allowed (reply bodies: JSON, Prometheus text)
};

struct TextRule {
  size_t min_bytes;
  size_t max_bytes;
  TextCharset charset;
};

inline constexpr TextRule kIdRule{1, 64, TextCharset::kId};
inline constexpr TextRule kIfaceIdRule{1, 15, TextCharset::kId};

// Why `text` breaks `rule` ("5000 bytes, at most 4096", "byte 3 is a control character"), or
// nullopt when it follows it. Never quotes the text itself: it is hostile.
std::optional<std::string> text_problem(std::string_view text, const TextRule& rule);

// Length of the well-formed UTF-8 sequence at text[pos] (1..4), 0 if none (stray continuation,
// overlong form, surrogate, beyond U+10FFFF, truncated).
size_t utf8_sequence_length(std::string_view text, size_t pos);

}  // namespace bulwark::api::wire
