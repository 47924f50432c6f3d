#include "devices/ratelimit/bucket_spec.h"

#include <charconv>
#include <vector>

namespace bulwark::ratelimit {

namespace {

bool parse_u64(std::string_view text, uint64_t& value) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::optional<BucketSpec> parse_bucket_spec(std::string_view text) {
  std::string_view parts[3];
  size_t count = 0, start = 0;
  for (;;) {
    if (count == 3) return std::nullopt;
    const size_t colon = text.find(':', start);
    parts[count++] = text.substr(start, colon == std::string_view::npos ? std::string_view::npos : colon - start);
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if (count < 2) return std::nullopt;
  BucketSpec spec;
  if (!parse_u64(parts[0], spec.size) || !parse_u64(parts[1], spec.refill_time_ms)) return std::nullopt;
  if (count == 3 && !parse_u64(parts[2], spec.one_time_burst)) return std::nullopt;
  if (spec.size == 0 || spec.refill_time_ms == 0) return std::nullopt;
  return spec;
}

std::optional<TokenBucket> make_bucket(const BucketSpec& spec) {
  if (!spec.limited()) return std::nullopt;
  return TokenBucket(spec.size, spec.one_time_burst, spec.refill_time_ms, TokenBucket::Clock::now());
}

}  // namespace bulwark::ratelimit
