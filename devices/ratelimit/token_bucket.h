// Token buckets and a rate limiter with Firecracker's RateLimiter semantics (its
// src/vmm/src/rate_limiter/mod.rs): a bucket holds at most `size` tokens, starts full, and
// refills continuously at size tokens per refill_time; a one-time burst is an extra credit
// spent first and never refilled. Pure: time is passed in (tests inject it), no syscalls, no
// timers: the caller asks wait_time() and arms its own timer. All arithmetic is 128-bit or
// saturating: no value up to 2^64-1 overflows.
//
// Choices (documented where they differ from or pin down Firecracker):
//  - size == 0 or refill_time_ms == 0 makes an unlimited bucket (Firecracker builds no bucket
//    then); every consume succeeds and time_until is 0.
//  - A request is all or nothing: if it cannot be met, nothing (burst included) is taken.
//    (Firecracker spends the burst on a request that then fails.)
//  - A request larger than what the bucket can ever hold (tokens > burst + size) is allowed
//    once the bucket is full: it empties the burst and the bucket, and the excess becomes a
//    debt that refill pays off before the bucket gains tokens again (Firecracker allows it
//    and blocks the limiter for excess/size * refill_time). So a single 1 MiB request through
//    a 64 KiB/s bucket passes, and the next waits ~16 s. A debt worth more than ~146 years
//    of refill is capped there.
//  - Refill is exact: the part of a token not yet whole carries over (no drift from polling).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace bulwark::ratelimit {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  // Starts full (size tokens + one_time_burst) at time `start` (default: the clock's epoch;
  // the first call with a later time refills nothing since the bucket is already full).
  TokenBucket(uint64_t size, uint64_t one_time_burst, uint64_t refill_time_ms,
              Clock::time_point start = Clock::time_point{});

  // Takes `tokens` if available at `now` (after refilling up to now) and returns true;
  // else takes nothing and returns false. consume(0, now) is always true. Time going
  // backwards is treated as no time passing.
  bool consume(uint64_t tokens, Clock::time_point now);

  // How long from `now` until consume(tokens, ·) would succeed (0 if it would now).
  std::chrono::nanoseconds time_until(uint64_t tokens, Clock::time_point now) const;

  // True if consume(tokens, now) would succeed; takes nothing.
  bool can_consume(uint64_t tokens, Clock::time_point now) const;

  bool unlimited() const { return size_ == 0 || refill_ns_ == 0; }
  uint64_t size() const { return size_; }
  uint64_t one_time_burst() const { return burst_; }  // what is left of it
  uint64_t refill_time_ms() const { return refill_time_ms_; }
  // Tokens in the bucket (without the burst) as of the last consume.
  uint64_t budget() const { return budget_; }

 private:
  struct State {
    uint64_t budget;
    uint64_t burst;
    Clock::time_point last;  // the time up to which refill has been accounted (may be ahead
                             // of now while a debt is being paid)
    uint64_t carry;          // a part-token: (elapsed ns * size) not yet a whole token, in
                             // units of 1/refill_ns tokens (< refill_ns)
  };
  State refilled(Clock::time_point now) const;
  // Ceil(tokens * refill_ns / size), saturated to a ~146-year bound.
  std::chrono::nanoseconds refill_duration(uint64_t tokens) const;

  uint64_t size_ = 0;
  uint64_t refill_time_ms_ = 0;
  uint64_t refill_ns_ = 0;  // saturated refill_time_ms * 10^6
  uint64_t budget_ = 0;
  uint64_t burst_ = 0;
  Clock::time_point last_{};
  uint64_t carry_ = 0;
};

// A limiter on bytes and on operations (packets, requests). An absent bucket does not limit.
class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  RateLimiter(std::optional<TokenBucket> bytes, std::optional<TokenBucket> ops);

  // One operation of `bytes` bytes: takes from both buckets or from neither.
  bool consume(uint64_t bytes, Clock::time_point now) { return consume(bytes, 1, now); }
  bool consume(uint64_t bytes, uint64_t ops, Clock::time_point now);

  // How long until consume(bytes[, ops]) would succeed: the larger of the two buckets' waits.
  std::chrono::nanoseconds wait_time(uint64_t bytes, Clock::time_point now) const {
    return wait_time(bytes, 1, now);
  }
  std::chrono::nanoseconds wait_time(uint64_t bytes, uint64_t ops, Clock::time_point now) const;

  bool unlimited() const;
  const std::optional<TokenBucket>& bytes_bucket() const { return bytes_; }
  const std::optional<TokenBucket>& ops_bucket() const { return ops_; }

 private:
  std::optional<TokenBucket> bytes_;
  std::optional<TokenBucket> ops_;
};

}  // namespace bulwark::ratelimit
