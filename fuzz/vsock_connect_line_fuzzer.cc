// The hybrid-vsock CONNECT line (devices/vsock/connect_line) a host client writes. Input: the
// client's bytes. Checks the answer against a plain reading of the grammar, and that feeding
// the same bytes one at a time never refuses a prefix of an accepted line nor accepts early.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "devices/vsock/connect_line.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bulwark::vsock;
  const std::span<const uint8_t> bytes(data, size);
  auto parsed = parse_connect_line(bytes);
  if (parsed.ok() && parsed->has_value()) {
    const ConnectRequest& req = **parsed;
    if (req.line_length < 10 || req.line_length > kMaxConnectLine || req.line_length > size)
      std::abort();
    if (bytes[req.line_length - 1] != '\n') std::abort();
    if (req.port == 0xffffffffu) std::abort();
    // The line is "connect <port>" in some letter case, the port in canonical decimal,
    // then an optional '\r'.
    std::string line(reinterpret_cast<const char*>(data), req.line_length - 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    for (size_t i = 0; i < 7; ++i) line[i] = static_cast<char>(std::tolower(line[i]));
    if (line != "connect " + std::to_string(req.port)) std::abort();
    // The reply names a port the same way.
    if (connect_reply(req.port) != "OK " + std::to_string(req.port) + "\n") std::abort();
  }
  // Incremental: every shorter prefix waits (accepted line) or agrees with the final verdict
  // once it refuses (a refusal is final: more bytes cannot make it valid).
  bool refused_early = false;
  for (size_t n = 0; n < size && n <= kMaxConnectLine; ++n) {
    auto prefix = parse_connect_line(bytes.first(n));
    if (prefix.ok() && prefix->has_value()) {
      // Accepted at n: the full input must be accepted with the same line.
      if (!parsed.ok() || !parsed->has_value() || (*parsed)->line_length != (*prefix)->line_length)
        std::abort();
      break;
    }
    if (!prefix.ok()) refused_early = true;
    if (refused_early && parsed.ok()) std::abort();
  }
  return 0;
}
