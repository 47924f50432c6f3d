#include "devices/ratelimit/token_bucket.h"

#include <algorithm>
#include <limits>

namespace bulwark::ratelimit {
namespace {

__extension__ typedef unsigned __int128 u128;
__extension__ typedef __int128 i128;

constexpr uint64_t kNsPerMs = 1'000'000;
// The longest wait (and debt) the bucket reports: 2^62 ns, about 146 years; keeps every
// time_point sum far from int64 overflow.
constexpr u128 kMaxWaitNs = u128{1} << 62;

uint64_t saturate64(u128 v) {
  return v > std::numeric_limits<uint64_t>::max() ? std::numeric_limits<uint64_t>::max()
                                                  : static_cast<uint64_t>(v);
}

u128 ceil_div(u128 a, u128 b) { return a / b + (a % b != 0 ? 1 : 0); }

TokenBucket::Clock::time_point add_saturated(TokenBucket::Clock::time_point t, u128 ns) {
  using Rep = TokenBucket::Clock::duration::rep;
  const Rep now = t.time_since_epoch().count();
  const Rep max = std::numeric_limits<Rep>::max();
  const Rep add = static_cast<Rep>(std::min(ns, kMaxWaitNs));  // duration is nanoseconds
  const Rep sum = now > max - add ? max : now + add;
  return TokenBucket::Clock::time_point(TokenBucket::Clock::duration(sum));
}

}  // namespace

static_assert(std::is_same_v<TokenBucket::Clock::duration, std::chrono::nanoseconds>,
              "steady_clock counts nanoseconds on this platform");

TokenBucket::TokenBucket(uint64_t size, uint64_t one_time_burst, uint64_t refill_time_ms,
                         Clock::time_point start)
    : size_(size),
      refill_time_ms_(refill_time_ms),
      refill_ns_(saturate64(u128{refill_time_ms} * kNsPerMs)),
      budget_(size),
      burst_(one_time_burst),
      last_(start) {}

std::chrono::nanoseconds TokenBucket::refill_duration(uint64_t tokens) const {
  const u128 ns = ceil_div(u128{tokens} * refill_ns_, size_);
  return std::chrono::nanoseconds(static_cast<int64_t>(std::min(ns, kMaxWaitNs)));
}

TokenBucket::State TokenBucket::refilled(Clock::time_point now) const {
  State s{budget_, burst_, last_, carry_};
  if (unlimited() || now <= s.last) return s;  // no time passed, or a debt is being paid
  if (s.budget >= size_) {
    s.last = now;
    s.carry = 0;
    return s;
  }
  // elapsed < 2^63 and size < 2^64: the product and the carry fit in 128 bits.
  const u128 elapsed = static_cast<u128>((now - s.last).count());
  const u128 total = elapsed * size_ + s.carry;
  const u128 fresh = total / refill_ns_;
  s.last = now;
  if (fresh >= size_ - s.budget) {
    s.budget = size_;
    s.carry = 0;
  } else {
    s.budget += static_cast<uint64_t>(fresh);
    s.carry = static_cast<uint64_t>(total % refill_ns_);
  }
  return s;
}

std::chrono::nanoseconds TokenBucket::time_until(uint64_t tokens, Clock::time_point now) const {
  if (unlimited() || tokens == 0) return std::chrono::nanoseconds(0);
  const State s = refilled(now);
  if (u128{tokens} <= u128{s.burst} + s.budget) return std::chrono::nanoseconds(0);
  // The budget needed: what the burst does not cover, or a full bucket for a request that
  // can never fit (allowed once full, see the header).
  const u128 over = u128{tokens} - s.burst;
  const uint64_t need = over > size_ ? size_ : static_cast<uint64_t>(over);
  if (need <= s.budget) return std::chrono::nanoseconds(0);
  // The bucket holds `need` once elapsed * size + carry >= (need - budget) * refill_ns,
  // counted from s.last, which may lie after now (a debt).
  const u128 numerator = u128{need - s.budget} * refill_ns_;  // > carry: carry < refill_ns
  const u128 fill = ceil_div(numerator - s.carry, size_);
  const i128 wait = static_cast<i128>(std::min(fill, kMaxWaitNs)) +
                    static_cast<i128>((s.last - now).count());
  if (wait <= 0) return std::chrono::nanoseconds(0);
  return std::chrono::nanoseconds(static_cast<int64_t>(std::min<i128>(wait, i128{kMaxWaitNs})));
}

bool TokenBucket::can_consume(uint64_t tokens, Clock::time_point now) const {
  return time_until(tokens, now) == std::chrono::nanoseconds(0);
}

bool TokenBucket::consume(uint64_t tokens, Clock::time_point now) {
  if (unlimited() || tokens == 0) return true;
  State s = refilled(now);
  if (u128{tokens} <= u128{s.burst} + s.budget) {
    const uint64_t from_burst = std::min(tokens, s.burst);
    s.burst -= from_burst;
    s.budget -= tokens - from_burst;
  } else if (u128{tokens} > u128{s.burst} + size_ && s.budget == size_) {
    // Larger than the bucket can ever hold, and the bucket is full: allowed, and the excess
    // is a debt paid by refill before the bucket gains tokens again.
    const uint64_t debt = static_cast<uint64_t>(u128{tokens} - s.burst - size_);
    s.burst = 0;
    s.budget = 0;
    s.carry = 0;
    s.last = add_saturated(std::max(now, s.last), u128(refill_duration(debt).count()));
  } else {
    return false;
  }
  budget_ = s.budget;
  burst_ = s.burst;
  last_ = s.last;
  carry_ = s.carry;
  return true;
}

RateLimiter::RateLimiter(std::optional<TokenBucket> bytes, std::optional<TokenBucket> ops)
    : bytes_(std::move(bytes)), ops_(std::move(ops)) {}

bool RateLimiter::consume(uint64_t bytes, uint64_t ops, Clock::time_point now) {
  if (bytes_ && !bytes_->can_consume(bytes, now)) return false;
  if (ops_ && !ops_->can_consume(ops, now)) return false;
  if (bytes_) (void)bytes_->consume(bytes, now);
  if (ops_) (void)ops_->consume(ops, now);
  return true;
}

std::chrono::nanoseconds RateLimiter::wait_time(uint64_t bytes, uint64_t ops,
                                                Clock::time_point now) const {
  std::chrono::nanoseconds wait(0);
  if (bytes_) wait = std::max(wait, bytes_->time_until(bytes, now));
  if (ops_) wait = std::max(wait, ops_->time_until(ops, now));
  return wait;
}

bool RateLimiter::unlimited() const {
  return (!bytes_ || bytes_->unlimited()) && (!ops_ || ops_->unlimited());
}

}  // namespace bulwark::ratelimit
