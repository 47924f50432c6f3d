#include "monitor/config/message_text.h"

#include <cstdint>

namespace bulwark::config {

namespace {

void append_hex_escape(std::string& out, unsigned char byte) {
  static constexpr char kDigits[] = "0123456789abcdef";
  out += "\\x";
  out += kDigits[byte >> 4];
  out += kDigits[byte & 0xf];
}

std::string escaped(std::string_view text, size_t max_bytes, bool escape_quotes) {
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    if (pos >= max_bytes) {
      out += "...";
      break;
    }
    const auto byte = static_cast<unsigned char>(text[pos]);
    if (byte == '\n') {
      out += "\\n";
    } else if (byte == '\t') {
      out += "\\t";
    } else if (escape_quotes && (byte == '"' || byte == '\\')) {
      out += '\\';
      out += static_cast<char>(byte);
    } else if (byte < 0x20 || byte == 0x7f) {
      append_hex_escape(out, byte);
    } else if (byte < 0x80) {
      out += static_cast<char>(byte);
    } else if (size_t len = utf8_sequence_length(text, pos); len != 0) {
      out.append(text.substr(pos, len));
      pos += len;
      continue;
    } else {
      append_hex_escape(out, byte);
    }
    ++pos;
  }
  return out;
}

}  // namespace

size_t utf8_sequence_length(std::string_view text, size_t pos) {
  if (pos >= text.size()) return 0;
  const auto lead = static_cast<unsigned char>(text[pos]);
  if (lead < 0x80) return 1;
  size_t len = 0;
  uint32_t code_point = 0;
  if ((lead & 0xe0) == 0xc0) {
    len = 2;
    code_point = lead & 0x1f;
  } else if ((lead & 0xf0) == 0xe0) {
    len = 3;
    code_point = lead & 0x0f;
  } else if ((lead & 0xf8) == 0xf0) {
    len = 4;
    code_point = lead & 0x07;
  } else {
    return 0;  // continuation byte or 0xf8..0xff
  }
  if (text.size() - pos < len) return 0;
  for (size_t i = 1; i < len; ++i) {
    const auto next = static_cast<unsigned char>(text[pos + i]);
    if ((next & 0xc0) != 0x80) return 0;
    code_point = (code_point << 6) | (next & 0x3f);
  }
  static constexpr uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code_point < kMinForLength[len]) return 0;                 // overlong
  if (code_point >= 0xd800 && code_point <= 0xdfff) return 0;    // UTF-16 surrogate
  if (code_point > 0x10ffff) return 0;
  return len;
}

std::string printable_text(std::string_view text, size_t max_bytes) {
  return escaped(text, max_bytes, /*escape_quotes=*/false);
}

std::string quoted_text(std::string_view text, size_t max_bytes) {
  return '"' + escaped(text, max_bytes, /*escape_quotes=*/true) + '"';
}

}  // namespace bulwark::config
