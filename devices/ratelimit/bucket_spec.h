// A token bucket as an operator or a tenant writes it down, before it becomes a TokenBucket:
// size, refill time and one-time burst (Firecracker's TokenBucket fields). On a device's
// command line it is "SIZE:REFILL_MS[:BURST]" (bulwark-dev-net --tx-bytes, bulwark-dev-blk
// --rate-bytes). Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "devices/ratelimit/token_bucket.h"

namespace bulwark::ratelimit {

struct BucketSpec {
  uint64_t size = 0;
  uint64_t one_time_burst = 0;
  uint64_t refill_time_ms = 0;
  bool limited() const { return size != 0 && refill_time_ms != 0; }
};

// "SIZE:REFILL_MS[:BURST]" with SIZE and REFILL_MS positive decimals; nullopt otherwise.
std::optional<BucketSpec> parse_bucket_spec(std::string_view text);

// The bucket, or none when the spec does not limit.
std::optional<TokenBucket> make_bucket(const BucketSpec& spec);

}  // namespace bulwark::ratelimit
