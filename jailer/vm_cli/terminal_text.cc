// Escaping of bulwark-api's text for the operator's terminal (see the header).
#include "jailer/vm_cli/terminal_text.h"

#include "monitor/config/message_text.h"

namespace bulwark::vm_cli {

std::string terminal_text(std::string_view text, size_t max_bytes) {
  const std::string printable = config::printable_text(text, max_bytes);
  // printable_text keeps only well-formed UTF-8, so 0xc2 followed by 0x80..0x9f is exactly a
  // C1 control character.
  std::string out;
  out.reserve(printable.size());
  for (size_t i = 0; i < printable.size(); ++i) {
    const auto byte = static_cast<unsigned char>(printable[i]);
    const auto next = i + 1 < printable.size() ? static_cast<unsigned char>(printable[i + 1]) : 0;
    if (byte == 0xc2 && next >= 0x80 && next <= 0x9f) {
      static constexpr char kDigits[] = "0123456789abcdef";
      out += "\\u00";
      out += kDigits[next >> 4];
      out += kDigits[next & 0xf];
      ++i;
    } else {
      out += static_cast<char>(byte);
    }
  }
  return out;
}

}  // namespace bulwark::vm_cli
