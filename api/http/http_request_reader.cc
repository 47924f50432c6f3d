// HttpRequestReader on http-parser (API client bytes). http-parser does the HTTP/1.x grammar;
// this file adds the limits it lacks (header bytes, header count, body size), the refusals
// (Transfer-Encoding, versions other than 1.0/1.1) and the one-request-at-a-time framing: the
// parser is paused in on_message_complete, so pipelined bytes stay with the caller.
#include <http_parser.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <string_view>
#include <utility>

#include "api/http/http_request.h"

namespace bulwark::api {
namespace {

// More header lines than any real API client sends; each costs a little work, so a flood of
// tiny headers is refused before it reaches the byte limit.
constexpr size_t kMaxHeaderCount = 64;

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

struct HttpRequestReader::Impl {
  // Which header the field being read is; only these matter here.
  enum class Field { kOther, kContentType, kTransferEncoding };

  explicit Impl(HttpLimits l) : limits(l) {
    http_parser_settings_init(&settings);
    settings.on_message_begin = &Impl::on_message_begin;
    settings.on_url = &Impl::on_url;
    settings.on_header_field = &Impl::on_header_field;
    settings.on_header_value = &Impl::on_header_value;
    settings.on_headers_complete = &Impl::on_headers_complete;
    settings.on_body = &Impl::on_body;
    settings.on_message_complete = &Impl::on_message_complete;
    start_message();
  }

  // A fresh parser and no partial request: after each complete request, so nothing of one
  // request (flags, upgrade state, lengths) can leak into the next.
  void start_message() {
    http_parser_init(&parser, HTTP_REQUEST);
    parser.data = this;
    request = HttpRequest{};
    url.clear();
    field.clear();
    field_kind = Field::kOther;
    in_field = false;
    in_value = false;
    header_count = 0;
    seen_content_type = false;
    header_bytes = 0;
    headers_done = false;
    message_started = false;
    complete = false;
  }

  // Records the first refusal; returning its result from a callback stops the parser. -1, not
  // 1: on_headers_complete returning 1 means "no body" to http-parser, not an error.
  int refuse(uint16_t status, std::string message) {
    if (!refused) {
      refused = true;
      error_status = status;
      error_message = std::move(message);
    }
    return -1;
  }

  // The limit on request line + headers was reached with the headers still incomplete.
  int refuse_header_size() {
    if (!in_field && !in_value) return refuse(414, "request line longer than the header limit");
    return refuse(431,
                  "request headers exceed " + std::to_string(limits.max_header_bytes) + " bytes");
  }

  // A header name is complete once its value starts (or the headers end).
  int finish_field_name() {
    const std::string name = lower_ascii(field);
    field_kind = Field::kOther;
    if (name == "transfer-encoding") {
      field_kind = Field::kTransferEncoding;
      return refuse(501, "Transfer-Encoding is not supported; send a Content-Length");
    }
    if (name == "content-type") {
      if (seen_content_type) return refuse(400, "more than one Content-Type header");
      seen_content_type = true;
      field_kind = Field::kContentType;
    }
    return 0;
  }

  static Impl& self(http_parser* p) { return *static_cast<Impl*>(p->data); }

  static int on_message_begin(http_parser* p) {
    self(p).message_started = true;
    return 0;
  }

  static int on_url(http_parser* p, const char* at, size_t len) {
    self(p).url.append(at, len);
    return 0;
  }

  static int on_header_field(http_parser* p, const char* at, size_t len) {
    Impl& s = self(p);
    if (!s.in_field) {  // a new header line begins
      if (++s.header_count > kMaxHeaderCount)
        return s.refuse(431, "more than " + std::to_string(kMaxHeaderCount) + " headers");
      s.field.clear();
      s.in_field = true;
      s.in_value = false;
    }
    s.field.append(at, len);
    return 0;
  }

  static int on_header_value(http_parser* p, const char* at, size_t len) {
    Impl& s = self(p);
    if (!s.in_value) {
      s.in_value = true;
      s.in_field = false;
      if (int rc = s.finish_field_name(); rc != 0) return rc;
    }
    if (s.field_kind == Field::kContentType) s.request.content_type.append(at, len);
    return 0;
  }

  static int on_headers_complete(http_parser* p) {
    Impl& s = self(p);
    s.headers_done = true;
    if (s.in_field && !s.in_value) {  // a last header with no value callback
      s.in_field = false;
      if (int rc = s.finish_field_name(); rc != 0) return rc;
    }
    if (!(p->http_major == 1 && (p->http_minor == 0 || p->http_minor == 1)))
      return s.refuse(505, "HTTP version " + std::to_string(p->http_major) + "." +
                               std::to_string(p->http_minor) + " is not supported");
    // Any Transfer-Encoding was refused by name; the parser's own flag is the backstop.
    if ((p->flags & F_CHUNKED) != 0)
      return s.refuse(501, "Transfer-Encoding is not supported; send a Content-Length");
    if (int rc = s.take_path(); rc != 0) return rc;
    // Refuse an oversized body on its declared length, before any of it is read.
    if ((p->flags & F_CONTENTLENGTH) != 0 && p->content_length > s.limits.max_body_bytes)
      return s.refuse(413, "request body of " + std::to_string(p->content_length) +
                               " bytes exceeds the limit of " +
                               std::to_string(s.limits.max_body_bytes));
    s.request.method = http_method_str(static_cast<http_method>(p->method));
    s.request.content_type = std::string(trim_ows(s.request.content_type));
    // HTTP/1.0 closes after its answer even with "Connection: keep-alive" (no client of this
    // API needs 1.0 keep-alive, and its framing rules differ).
    s.request.keep_alive = p->http_minor == 1 && http_should_keep_alive(p) != 0;
    return 0;
  }

  static int on_body(http_parser* p, const char* at, size_t len) {
    Impl& s = self(p);
    // Content-Length was checked against the limit; this guards that promise.
    if (len > s.limits.max_body_bytes - std::min(s.request.body.size(), s.limits.max_body_bytes))
      return s.refuse(413, "request body exceeds the limit");
    s.request.body.append(at, len);
    return 0;
  }

  static int on_message_complete(http_parser* p) {
    self(p).complete = true;
    http_parser_pause(p, 1);  // hand this request back; the rest stays with the caller
    return 0;
  }

  // The request target's path, without query string or fragment.
  int take_path() {
    // http_parser_url holds 16-bit offsets.
    if (url.size() > std::numeric_limits<uint16_t>::max())
      return refuse(414, "request target too long");
    http_parser_url parsed;
    http_parser_url_init(&parsed);
    if (http_parser_parse_url(url.data(), url.size(), 0, &parsed) != 0 ||
        (parsed.field_set & (1u << UF_PATH)) == 0)
      return refuse(400, "malformed request target");
    const auto& f = parsed.field_data[UF_PATH];
    std::string_view path = std::string_view(url).substr(f.off, f.len);
    if (path.empty() || path.front() != '/') return refuse(400, "request path must start with '/'");
    request.path = std::string(path);
    return 0;
  }

  Outcome fail_outcome(size_t consumed) const {
    Outcome out;
    out.state = State::kError;
    out.consumed = consumed;
    out.error_status = error_status;
    out.error_message = error_message;
    return out;
  }

  Outcome feed(std::span<const uint8_t> bytes) {
    if (refused) return fail_outcome(0);
    size_t off = 0;
    // http_parser_execute with zero bytes means end of stream: never call it so.
    while (off < bytes.size()) {
      size_t chunk = bytes.size() - off;
      if (!headers_done) {
        // Never show the parser more header bytes than the limit allows, so a header that is
        // too long is refused within the limit whatever the parser would have buffered.
        chunk = std::min(chunk, limits.max_header_bytes - header_bytes);
        if (chunk == 0) {  // only with a zero limit: every byte is over it
          refuse_header_size();
          return fail_outcome(off);
        }
      }
      const char* data = reinterpret_cast<const char*>(bytes.data()) + off;
      const size_t parsed = http_parser_execute(&parser, &settings, data, chunk);
      if (!headers_done) header_bytes += parsed;
      off += parsed;
      if (refused) return fail_outcome(off);
      const http_errno err = HTTP_PARSER_ERRNO(&parser);
      if (complete) {
        Outcome out;
        out.state = State::kRequest;
        out.consumed = off;
        out.request = std::move(request);
        start_message();
        return out;
      }
      if (err != HPE_OK) {
        if (err == HPE_HEADER_OVERFLOW) refuse_header_size();
        refuse(400, std::string("malformed HTTP request: ") + http_errno_description(err));
        return fail_outcome(off);
      }
      if (parsed == 0) {  // no progress without an error: never spin on it
        refuse(400, "malformed HTTP request");
        return fail_outcome(off);
      }
      if (!headers_done && header_bytes >= limits.max_header_bytes) {
        // The headers are still incomplete, so at least one more byte is needed: over the limit.
        refuse_header_size();
        return fail_outcome(off);
      }
    }
    Outcome out;
    out.consumed = off;
    return out;
  }

  HttpLimits limits;
  http_parser parser;
  http_parser_settings settings;

  // The request being read.
  HttpRequest request;
  std::string url;
  std::string field;  // the current header's name, as its pieces arrive
  Field field_kind = Field::kOther;
  bool in_field = false;  // between a header name's first piece and its value
  bool in_value = false;  // inside a header value
  size_t header_count = 0;
  bool seen_content_type = false;
  size_t header_bytes = 0;  // bytes of this request (and CRLFs before it) until headers end
  bool headers_done = false;
  bool message_started = false;
  bool complete = false;

  // Sticky: once refused, the connection is answered and closed.
  bool refused = false;
  uint16_t error_status = 400;
  std::string error_message;
};

HttpRequestReader::HttpRequestReader(HttpLimits limits) : impl_(std::make_unique<Impl>(limits)) {}
HttpRequestReader::~HttpRequestReader() = default;

HttpRequestReader::Outcome HttpRequestReader::feed(std::span<const uint8_t> bytes) {
  return impl_->feed(bytes);
}

bool HttpRequestReader::in_request() const {
  // Any byte counts, blank lines before a request too: a client dribbling CRLFs is slow as well.
  return !impl_->refused && (impl_->header_bytes > 0 || impl_->message_started);
}

}  // namespace bulwark::api
