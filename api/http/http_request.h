// HTTP/1.1 request framing for bulwark-api, on Debian's http-parser (libhttp-parser-dev): bytes
// from an API client in, whole requests out, one at a time (pipelined requests stay in the
// caller's buffer until it asks for the next). Client bytes are hostile: every limit below is a
// clean refusal with the status to answer, never a crash or an unbounded buffer.
//
// Accepted: a request line and headers of at most max_header_bytes in all, methods GET, PUT,
// PATCH (others parse and are answered 405 by the router), a body only through Content-Length
// (at most max_body_bytes; Transfer-Encoding is refused with 501, as Firecracker does),
// keep-alive by HTTP/1.1 default or "Connection: close". An HTTP/1.0 request closes after its
// answer. Query strings are dropped from `path` (no endpoint takes one).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace bulwark::api {

struct HttpLimits {
  size_t max_header_bytes = 8192;  // request line + headers
  size_t max_body_bytes = 51200;   // Firecracker's default payload limit
};

struct HttpRequest {
  std::string method;  // "GET", "PUT", "PATCH", ... as sent (upper case)
  std::string path;    // "/drives/rootfs", without the query string
  std::string content_type;  // the Content-Type header's value, "" when absent
  std::string body;
  bool keep_alive = true;  // false: answer, then close the connection
};

// One per connection. Not thread-safe.
class HttpRequestReader {
 public:
  explicit HttpRequestReader(HttpLimits limits = {});
  ~HttpRequestReader();
  HttpRequestReader(const HttpRequestReader&) = delete;
  HttpRequestReader& operator=(const HttpRequestReader&) = delete;

  enum class State {
    kNeedMore,  // all of `bytes` consumed, no complete request yet
    kRequest,   // `request` is complete; bytes past `consumed` belong to the next one
    kError,     // refuse: answer `error_status` with `error_message`, then close
  };
  struct Outcome {
    State state = State::kNeedMore;
    size_t consumed = 0;
    HttpRequest request;           // when kRequest
    uint16_t error_status = 400;   // when kError: 400, 413 (body), 431 (headers), 501, 505
    std::string error_message;     // when kError, for the fault JSON
  };
  // Feeds the next bytes of the stream. After kRequest, call again with the unconsumed rest (or
  // new bytes) for the next request; after kError the reader refuses everything.
  Outcome feed(std::span<const uint8_t> bytes);
  // True while part of a request has arrived (the server's slow-client timer runs then).
  bool in_request() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bulwark::api
