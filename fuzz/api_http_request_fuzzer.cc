// HTTP request framing (api/http, HttpRequestReader) on an API client's byte stream, arriving
// in arbitrary pieces. Input: byte 0 seeds the piece sizes (bit 7 also selects tight limits,
// 256 header / 64 body bytes, so the limit paths are reached by small inputs); the rest is the
// stream. Pipelined requests are read one after another, unconsumed bytes re-fed as the server
// does, until the stream ends or is refused.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "api/http/http_request.h"

namespace {

using bulwark::api::HttpLimits;
using bulwark::api::HttpRequestReader;
using State = HttpRequestReader::State;

void check(bool ok) {
  if (!ok) std::abort();
}

bool refusal_status(uint16_t s) {
  return s == 400 || s == 413 || s == 414 || s == 431 || s == 501 || s == 505;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t seed = data[0];
  HttpLimits limits;
  if (seed & 0x80) limits = HttpLimits{.max_header_bytes = 256, .max_body_bytes = 64};
  const std::span<const uint8_t> stream(data + 1, size - 1);

  uint32_t rng = 0x9e3779b9u ^ seed;
  auto next_piece = [&rng]() -> size_t {  // xorshift: 1..64 bytes, small ones most often
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return 1 + (rng % 64) % (1 + (rng >> 8) % 64);
  };

  HttpRequestReader reader(limits);
  std::vector<uint8_t> pending;  // received, not yet consumed
  size_t pos = 0;
  size_t since_request = 0;  // bytes consumed since the last complete request
  while (pos < stream.size()) {
    const size_t n = std::min(next_piece(), stream.size() - pos);
    pending.insert(pending.end(), stream.begin() + pos, stream.begin() + pos + n);
    pos += n;
    for (;;) {
      auto out = reader.feed(pending);
      check(out.consumed <= pending.size());
      since_request += out.consumed;
      if (out.state == State::kError) {
        check(refusal_status(out.error_status));
        check(!out.error_message.empty());
        // Refused for good.
        const auto again = reader.feed(pending);
        check(again.state == State::kError && again.consumed == 0);
        check(!reader.in_request());
        return 0;
      }
      if (out.state == State::kNeedMore) {
        check(out.consumed == pending.size());
        pending.clear();
        break;
      }
      const auto& r = out.request;
      check(out.consumed > 0);
      check(r.body.size() <= limits.max_body_bytes);
      check(!r.method.empty());
      check(!r.path.empty() && r.path[0] == '/');
      check(r.path.find('?') == std::string::npos && r.path.find('#') == std::string::npos);
      // A request is at most its header allowance plus its body.
      check(since_request <= limits.max_header_bytes + r.body.size());
      check(!reader.in_request());
      since_request = 0;
      pending.erase(pending.begin(), pending.begin() + static_cast<ptrdiff_t>(out.consumed));
      if (pending.empty()) break;
    }
    // Bytes of a request whose headers are incomplete never exceed the allowance unrefused.
    check(since_request <= limits.max_header_bytes + limits.max_body_bytes);
  }
  return 0;
}
