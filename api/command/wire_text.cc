// String checks for the command channel (hostile bytes from bulwark-api; reply bodies from the
// launcher). See wire_text.h.
#include "api/command/wire_text.h"

#include <cstdint>

namespace bulwark::api::wire {

size_t utf8_sequence_length(std::string_view text, size_t pos) {
  if (pos >= text.size()) return 0;
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[pos + i]); };
  const uint8_t b0 = byte(0);
  if (b0 < 0x80) return 1;
  size_t length = 0;
  uint8_t low = 0x80, high = 0xbf;  // allowed range of the second byte
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    length = 2;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    length = 3;
    if (b0 == 0xe0) low = 0xa0;   // overlong
    if (b0 == 0xed) high = 0x9f;  // surrogates
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    length = 4;
    if (b0 == 0xf0) low = 0x90;   // overlong
    if (b0 == 0xf4) high = 0x8f;  // beyond U+10FFFF
  } else {
    return 0;  // continuation byte, C0/C1 overlong lead, or F5..FF
  }
  if (text.size() - pos < length) return 0;
  if (byte(1) < low || byte(1) > high) return 0;
  for (size_t i = 2; i < length; ++i)
    if (byte(i) < 0x80 || byte(i) > 0xbf) return 0;
  return length;
}

namespace {

bool id_byte(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// C0, DEL, and C1 (U+0080..U+009F, encoded C2 80..C2 9F): terminals act on all of them.
bool control_at(std::string_view text, size_t pos, size_t length, TextCharset charset) {
  const auto b0 = static_cast<uint8_t>(text[pos]);
  if (length == 1) {
    if (charset == TextCharset::kMultiline && (b0 == '\t' || b0 == '\n')) return false;
    return b0 < 0x20 || b0 == 0x7f;
  }
  return length == 2 && b0 == 0xc2 && static_cast<uint8_t>(text[pos + 1]) <= 0x9f;
}

}  // namespace

std::optional<std::string> text_problem(std::string_view text, const TextRule& rule) {
  if (text.size() > rule.max_bytes)
    return std::to_string(text.size()) + " bytes, at most " + std::to_string(rule.max_bytes);
  if (text.size() < rule.min_bytes)
    return std::to_string(text.size()) + " bytes, at least " + std::to_string(rule.min_bytes);
  for (size_t pos = 0; pos < text.size();) {
    if (rule.charset == TextCharset::kId) {
      if (!id_byte(text[pos]))
        return "byte " + std::to_string(pos) + " is not one of [A-Za-z0-9_-]";
      ++pos;
      continue;
    }
    const size_t length = utf8_sequence_length(text, pos);
    if (length == 0) return "byte " + std::to_string(pos) + " is not valid UTF-8";
    if (control_at(text, pos, length, rule.charset))
      return "byte " + std::to_string(pos) + " is a control character";
    pos += length;
  }
  return std::nullopt;
}

}  // namespace bulwark::api::wire
