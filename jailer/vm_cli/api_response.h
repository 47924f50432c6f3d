// HTTP/1.1 response framing for `bulwark vm` (the operator's CLI), on Debian's http-parser: the
// bytes bulwark-api sends back in, one whole response out. bulwark-api is jailed and may be
// compromised, and this tool runs as root, so the bytes are hostile: every limit below is a
// clean error with a message, never a crash or an unbounded buffer. No I/O here (api_client.h
// does the socket), so the fuzz target api_http_response links only this.
//
// Accepted: a status line and headers of at most max_header_bytes in all, a status from 200 to
// 599 (an interim 1xx answer is refused: the CLI never asks for one), a body by Content-Length,
// chunked, or up to the end of the connection, of at most max_body_bytes. Bytes after the first
// complete response are ignored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace bulwark::vm_cli {

struct ApiResponseLimits {
  size_t max_header_bytes = 8 * 1024;        // status line + headers
  size_t max_body_bytes = 4 * 1024 * 1024;   // the policy document is the largest answer
};

struct ApiResponse {
  uint16_t status = 0;
  std::string content_type;  // the Content-Type header's value, "" when absent
  std::string body;
};

// One per response. Not thread-safe.
class ApiResponseReader {
 public:
  explicit ApiResponseReader(ApiResponseLimits limits = {});
  ~ApiResponseReader();
  ApiResponseReader(const ApiResponseReader&) = delete;
  ApiResponseReader& operator=(const ApiResponseReader&) = delete;

  enum class State {
    kNeedMore,  // all bytes so far consumed, the response is not complete yet
    kComplete,  // response() is the whole response
    kError,     // error() says what was wrong; the reader refuses everything after
  };
  // The next bytes from the connection. Once complete or failed, further bytes are ignored.
  State feed(std::span<const uint8_t> bytes);
  // The peer closed the connection: completes a body that runs to the end of the connection,
  // and is an error for anything else still incomplete.
  State finish();

  State state() const;
  const ApiResponse& response() const;
  // "response headers larger than 8192 bytes", "malformed HTTP response: ...", ...
  const std::string& error() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bulwark::vm_cli
