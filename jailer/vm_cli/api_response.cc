// Response framing on http-parser; input is bulwark-api's (hostile) bytes, see api_response.h.
#include "jailer/vm_cli/api_response.h"

#include <http_parser.h>

#include <algorithm>
#include <climits>
#include <string_view>

namespace bulwark::vm_cli {

namespace {

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
           return lower(x) == lower(y);
         });
}

}  // namespace

struct ApiResponseReader::Impl {
  ApiResponseLimits limits;
  http_parser parser{};
  http_parser_settings settings{};
  State state = State::kNeedMore;
  ApiResponse response;
  std::string error;
  size_t header_bytes = 0;      // bytes fed before the headers were complete
  bool headers_complete = false;
  // The header being read: http-parser may hand a name or value over in several pieces.
  std::string field, value;
  bool in_value = false;

  static Impl& of(http_parser* parser) { return *static_cast<Impl*>(parser->data); }

  int fail(std::string message) {
    if (error.empty()) error = std::move(message);
    return -1;
  }

  void end_header() {
    // Only Content-Type is used; the header budget bounds both strings.
    if (in_value && equals_ignoring_case(field, "Content-Type")) response.content_type = value;
    field.clear();
    value.clear();
    in_value = false;
  }

  Impl(ApiResponseLimits l) : limits(l) {
    http_parser_init(&parser, HTTP_RESPONSE);
    parser.data = this;
    settings.on_header_field = [](http_parser* p, const char* at, size_t length) {
      Impl& self = of(p);
      if (self.in_value) self.end_header();
      self.field.append(at, length);
      return 0;
    };
    settings.on_header_value = [](http_parser* p, const char* at, size_t length) {
      Impl& self = of(p);
      self.in_value = true;
      self.value.append(at, length);
      return 0;
    };
    settings.on_headers_complete = [](http_parser* p) {
      Impl& self = of(p);
      self.end_header();
      self.headers_complete = true;
      if (p->status_code < 200 || p->status_code > 599) {
        return self.fail("unexpected HTTP status " + std::to_string(p->status_code));
      }
      self.response.status = static_cast<uint16_t>(p->status_code);
      // A declared length over the limit is refused before any of the body arrives.
      if ((p->flags & F_CHUNKED) == 0 && p->content_length != ULLONG_MAX &&
          p->content_length > self.limits.max_body_bytes) {
        return self.fail("response body of " + std::to_string(p->content_length) +
                         " bytes is larger than " + std::to_string(self.limits.max_body_bytes));
      }
      return 0;
    };
    settings.on_body = [](http_parser* p, const char* at, size_t length) {
      Impl& self = of(p);
      if (length > self.limits.max_body_bytes - self.response.body.size()) {
        return self.fail("response body larger than " + std::to_string(self.limits.max_body_bytes) +
                         " bytes");
      }
      self.response.body.append(at, length);
      return 0;
    };
    settings.on_message_complete = [](http_parser* p) {
      Impl& self = of(p);
      self.state = State::kComplete;
      http_parser_pause(p, 1);  // whatever follows is not ours to parse
      return 0;
    };
  }

  // One http_parser_execute call; `bytes` is empty for the end of the connection.
  void execute(const char* data, size_t length) {
    const size_t parsed = http_parser_execute(&parser, &settings, data, length);
    if (state == State::kComplete) return;
    const auto code = static_cast<http_errno>(parser.http_errno);
    if (code != HPE_OK || !error.empty()) {
      fail(std::string("malformed HTTP response: ") + http_errno_description(code));
      state = State::kError;
    } else if (parsed != length) {
      fail("malformed HTTP response: the parser stopped early");
      state = State::kError;
    }
  }
};

ApiResponseReader::ApiResponseReader(ApiResponseLimits limits) : impl_(std::make_unique<Impl>(limits)) {}
ApiResponseReader::~ApiResponseReader() = default;

ApiResponseReader::State ApiResponseReader::feed(std::span<const uint8_t> bytes) {
  Impl& self = *impl_;
  const char* data = reinterpret_cast<const char*>(bytes.data());
  size_t left = bytes.size();
  while (left > 0 && self.state == State::kNeedMore) {
    // Until the headers are complete the parser gets no more than the header budget allows, so
    // the budget is exact whatever the chunking.
    size_t chunk = left;
    if (!self.headers_complete) {
      const size_t budget = self.limits.max_header_bytes - self.header_bytes;
      if (budget == 0) {
        self.fail("response headers larger than " + std::to_string(self.limits.max_header_bytes) +
                  " bytes");
        self.state = State::kError;
        break;
      }
      chunk = std::min(chunk, budget);
      self.header_bytes += chunk;
    }
    self.execute(data, chunk);
    data += chunk;
    left -= chunk;
  }
  return self.state;
}

ApiResponseReader::State ApiResponseReader::finish() {
  Impl& self = *impl_;
  if (self.state != State::kNeedMore) return self.state;
  // Only a body that runs to the end of the connection completes here (http-parser then calls
  // on_message_complete); anything else reports HPE_INVALID_EOF_STATE, said plainly below.
  if (self.headers_complete) http_parser_execute(&self.parser, &self.settings, nullptr, 0);
  if (self.state == State::kNeedMore) {
    self.fail(self.header_bytes == 0 ? "the connection closed without a response"
                                     : "the connection closed before the end of the response");
    self.state = State::kError;
  }
  return self.state;
}

ApiResponseReader::State ApiResponseReader::state() const { return impl_->state; }
const ApiResponse& ApiResponseReader::response() const { return impl_->response; }
const std::string& ApiResponseReader::error() const { return impl_->error; }

}  // namespace bulwark::vm_cli
