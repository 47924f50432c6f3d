#include "devices/vsock/connect_line.h"

#include <algorithm>

namespace bulwark::vsock {
namespace {

constexpr char kKeyword[] = "connect";
constexpr size_t kKeywordLength = sizeof(kKeyword) - 1;
constexpr uint64_t kPortAny = 0xffffffffu;  // VMADDR_PORT_ANY: no guest listens there

Error refuse_connect_line(const std::string& why) { return Error("vsock CONNECT line: " + why); }

char lower(uint8_t c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c); }

}  // namespace

Result<std::optional<ConnectRequest>> parse_connect_line(std::span<const uint8_t> received) {
  const auto newline = std::find(received.begin(), received.end(), uint8_t{'\n'});
  const bool complete = newline != received.end();
  // The line: the bytes before the '\n', or (none yet) all received, at most the cap.
  const size_t line_end = complete ? static_cast<size_t>(newline - received.begin())
                                   : std::min(received.size(), kMaxConnectLine);
  if (line_end + 1 > kMaxConnectLine)
    return refuse_connect_line("no newline within " + std::to_string(kMaxConnectLine) + " bytes");
  const std::span<const uint8_t> line = received.first(line_end);
  using Parsed = Result<std::optional<ConnectRequest>>;
  // Where the bytes run out: wait for more, unless the '\n' has come.
  auto wait_or_refuse = [complete](const char* why) -> Parsed {
    if (complete) return refuse_connect_line(why);
    return std::optional<ConnectRequest>{};
  };

  // Walk the grammar as far as the bytes go: an incomplete line must be a valid beginning.
  size_t i = 0;
  for (; i < kKeywordLength; ++i) {
    if (i == line.size()) return wait_or_refuse("line ends inside CONNECT");
    if (lower(line[i]) != kKeyword[i]) return refuse_connect_line("does not start with CONNECT");
  }
  if (i == line.size()) return wait_or_refuse("no port after CONNECT");
  if (line[i] != ' ') return refuse_connect_line("want one space after CONNECT");
  const size_t digits_start = ++i;
  uint64_t port = 0;  // below 2^32 at each step, so the next step cannot overflow
  for (; i < line.size() && line[i] >= '0' && line[i] <= '9'; ++i) {
    if (i > digits_start && line[digits_start] == '0') return refuse_connect_line("port has a leading zero");
    port = port * 10 + (line[i] - '0');
    if (port >= kPortAny) return refuse_connect_line("port beyond 4294967294");
  }
  if (i == digits_start && i < line.size()) return refuse_connect_line("port is not a decimal number");
  if (i < line.size() && !(line[i] == '\r' && i + 1 == line.size()))
    return refuse_connect_line("trailing bytes after the port");
  if (i == digits_start) return wait_or_refuse("no port after CONNECT");
  if (!complete) return std::optional<ConnectRequest>{};
  return std::optional<ConnectRequest>{ConnectRequest{static_cast<uint32_t>(port), line_end + 1}};
}

std::string connect_reply(uint32_t host_port) { return "OK " + std::to_string(host_port) + "\n"; }

}  // namespace bulwark::vsock
