// Token buckets and the rate limiter on injected time: refill timing, the one-time burst,
// oversize requests, both-or-neither, and no overflow anywhere up to 2^64-1.
#include "devices/ratelimit/token_bucket.h"

#include <gtest/gtest.h>

#include <limits>

namespace bulwark::ratelimit {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using std::chrono::nanoseconds;

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
const Clock::time_point t0 = Clock::time_point{} + 1000s;

TEST(TokenBucketTest, StartsFullAndRefillsAtTheRate) {
  // 1000 tokens per 1000 ms: one token per millisecond.
  TokenBucket b(1000, 0, 1000, t0);
  EXPECT_TRUE(b.consume(1000, t0));
  EXPECT_FALSE(b.consume(1, t0));
  EXPECT_EQ(b.time_until(1, t0), 1ms);
  EXPECT_EQ(b.time_until(500, t0), 500ms);
  EXPECT_FALSE(b.consume(1, t0 + 999us));
  EXPECT_TRUE(b.consume(1, t0 + 1ms));
  EXPECT_FALSE(b.consume(1, t0 + 1ms));
  // 250 ms later: 250 tokens, not 251.
  EXPECT_FALSE(b.consume(251, t0 + 251ms - 1ns));
  EXPECT_TRUE(b.consume(250, t0 + 251ms));
  EXPECT_EQ(b.budget(), 0u);
  // Long idle: capped at size.
  EXPECT_TRUE(b.consume(1000, t0 + 1h));
  EXPECT_FALSE(b.consume(1, t0 + 1h));
}

TEST(TokenBucketTest, FractionsCarryOver) {
  // 3 tokens per 10 ms: a token every 3.33 ms. Polling every 1 ms must not lose time.
  TokenBucket b(3, 0, 10, t0);
  ASSERT_TRUE(b.consume(3, t0));
  int got = 0;
  for (int ms = 1; ms <= 1000; ++ms)
    while (b.consume(1, t0 + std::chrono::milliseconds(ms))) ++got;
  EXPECT_EQ(got, 300);
}

TEST(TokenBucketTest, TimeUntilIsExact) {
  TokenBucket b(7, 0, 13, t0);
  ASSERT_TRUE(b.consume(7, t0));
  for (uint64_t n = 1; n <= 7; ++n) {
    const nanoseconds wait = b.time_until(n, t0);
    EXPECT_GT(wait, 0ns);
    EXPECT_FALSE(b.can_consume(n, t0 + wait - 1ns)) << n;
    EXPECT_TRUE(b.can_consume(n, t0 + wait)) << n;
  }
}

// The part of a token accrued but not yet whole shortens the wait for the next one.
TEST(TokenBucketTest, TimeUntilCountsThePartToken) {
  TokenBucket b(3, 0, 10, t0);  // a token every 3.333 ms
  ASSERT_TRUE(b.consume(3, t0));
  ASSERT_TRUE(b.consume(1, t0 + 4ms));  // 1.2 tokens accrued: 0.2 carried
  const nanoseconds wait = b.time_until(1, t0 + 4ms);
  EXPECT_EQ(wait, 2666667ns);
  EXPECT_FALSE(b.can_consume(1, t0 + 4ms + wait - 1ns));
  EXPECT_TRUE(b.can_consume(1, t0 + 4ms + wait));
}

TEST(TokenBucketTest, OneTimeBurstSpentFirstNeverRefilled) {
  TokenBucket b(100, 50, 1000, t0);
  EXPECT_TRUE(b.consume(150, t0));
  EXPECT_EQ(b.one_time_burst(), 0u);
  EXPECT_FALSE(b.consume(1, t0));
  EXPECT_TRUE(b.consume(100, t0 + 1s));
  EXPECT_FALSE(b.consume(1, t0 + 1s));
  EXPECT_TRUE(b.consume(100, t0 + 1h));
  EXPECT_FALSE(b.consume(1, t0 + 1h));  // the burst did not come back
}

TEST(TokenBucketTest, FailedRequestTakesNothing) {
  TokenBucket b(100, 50, 1000, t0);
  ASSERT_TRUE(b.consume(30, t0));  // from the burst
  EXPECT_EQ(b.one_time_burst(), 20u);
  EXPECT_EQ(b.budget(), 100u);
  ASSERT_TRUE(b.consume(30, t0));  // 20 from the burst, 10 from the bucket
  EXPECT_EQ(b.one_time_burst(), 0u);
  EXPECT_EQ(b.budget(), 90u);
  EXPECT_FALSE(b.consume(91, t0));
  EXPECT_EQ(b.budget(), 90u);
  EXPECT_TRUE(b.consume(90, t0));
  EXPECT_EQ(b.budget(), 0u);
}

TEST(TokenBucketTest, OversizeAllowedWhenFullThenDebt) {
  // 64 KiB per second; one 1 MiB request.
  TokenBucket b(64 * 1024, 0, 1000, t0);
  ASSERT_TRUE(b.consume(1, t0));
  EXPECT_FALSE(b.consume(1024 * 1024, t0));  // not full: waits until it is
  EXPECT_EQ(b.time_until(1024 * 1024, t0), nanoseconds(1'000'000'000 / 65536 + 1));
  EXPECT_TRUE(b.consume(1024 * 1024, t0 + 1s));
  // The debt: 15 more bucketfuls, 15 s, before even one token.
  EXPECT_FALSE(b.consume(1, t0 + 1s + 15s));
  EXPECT_EQ(b.time_until(1, t0 + 1s), 15s + nanoseconds(1'000'000'000 / 65536 + 1));
  EXPECT_TRUE(b.consume(1, t0 + 1s + 16s));
}

TEST(TokenBucketTest, UnlimitedWhenSizeOrRefillZero) {
  for (TokenBucket b : {TokenBucket(0, 0, 1000, t0), TokenBucket(1000, 0, 0, t0)}) {
    EXPECT_TRUE(b.unlimited());
    EXPECT_TRUE(b.consume(kMax, t0));
    EXPECT_TRUE(b.consume(kMax, t0));
    EXPECT_EQ(b.time_until(kMax, t0), 0ns);
  }
}

TEST(TokenBucketTest, NoOverflowNearTwoToThe64) {
  // Huge size and refill time: the refill product needs 128 bits.
  TokenBucket huge(kMax, kMax, kMax, t0);
  EXPECT_TRUE(huge.consume(kMax, t0));  // from the burst
  EXPECT_TRUE(huge.consume(kMax, t0));  // from the bucket
  EXPECT_FALSE(huge.consume(1, t0));
  // Refill: 2^64-1 tokens per 2^64-1 ns (the saturated refill time): one per ns; a full
  // bucket is 584 years away, reported as the 2^62 ns cap.
  EXPECT_EQ(huge.time_until(kMax, t0), nanoseconds(int64_t{1} << 62));
  EXPECT_EQ(huge.time_until(1000, t0), 1000ns);
  EXPECT_FALSE(huge.consume(1000, t0 + 999ns));
  EXPECT_TRUE(huge.consume(1000, t0 + 1000ns));
  // A tiny bucket and a 2^64-1 request: allowed once (full), then a debt capped at 2^62 ns.
  TokenBucket tiny(1, 0, 1, t0);
  EXPECT_TRUE(tiny.consume(kMax, t0));
  EXPECT_FALSE(tiny.consume(1, t0 + 24h * 365));
  const nanoseconds debt = tiny.time_until(1, t0);
  EXPECT_GT(debt, 24h * 365 * 100);
  EXPECT_LE(debt, nanoseconds(int64_t{1} << 62) + 1ms);
  // A debt whose refill time is just past 2^64 ns (2^64 + 448384): it must not wrap to 448 us.
  TokenBucket wrap(1, 0, 1, t0);
  EXPECT_TRUE(wrap.consume(18446744073710ull + 1, t0));
  EXPECT_FALSE(wrap.consume(1, t0 + 1s));
  EXPECT_EQ(wrap.time_until(1, t0 + 1s), nanoseconds(int64_t{1} << 62) - 1s + 1ms);
  // A refill time whose nanoseconds pass 2^64 (18446744073710 ms): saturated, not 448 us.
  TokenBucket slow(1, 0, 18446744073710ull, t0);
  ASSERT_TRUE(slow.consume(1, t0));
  EXPECT_FALSE(slow.consume(1, t0 + 1s));
  EXPECT_EQ(slow.time_until(1, t0), nanoseconds(int64_t{1} << 62));
  // Burst + request sums that would wrap 64 bits.
  TokenBucket c(10, kMax - 5, 1000, t0);
  EXPECT_TRUE(c.consume(kMax, t0));  // burst kMax-5 + 5 from the bucket
  EXPECT_EQ(c.budget(), 5u);
  // A refill after a very long time with a huge rate.
  TokenBucket fast(kMax, 0, 1, t0);
  ASSERT_TRUE(fast.consume(kMax, t0));
  EXPECT_TRUE(fast.consume(kMax, t0 + 24h * 365 * 200));
}

TEST(TokenBucketTest, TimeGoingBackwardsGivesNothing) {
  TokenBucket b(1000, 0, 1000, t0 + 10s);
  ASSERT_TRUE(b.consume(1000, t0 + 10s));
  EXPECT_FALSE(b.consume(1, t0));
  EXPECT_TRUE(b.consume(1, t0 + 10s + 1ms));
}

TEST(RateLimiterTest, BothOrNeither) {
  // 1000 bytes/s and 2 ops/s.
  RateLimiter l(TokenBucket(1000, 0, 1000, t0), TokenBucket(2, 0, 1000, t0));
  EXPECT_TRUE(l.consume(400, t0));
  EXPECT_TRUE(l.consume(400, t0));
  // Bytes would fit (200 left) but ops are spent: nothing is taken.
  EXPECT_FALSE(l.consume(100, t0));
  EXPECT_EQ(l.bytes_bucket()->budget(), 200u);
  EXPECT_EQ(l.wait_time(100, t0), 500ms);
  // Ops back after 500 ms, bytes too: one op of 600 bytes needs 400 more bytes = 400 ms.
  EXPECT_EQ(l.wait_time(600, t0 + 500ms), 0ns);
  EXPECT_FALSE(l.consume(800, t0 + 500ms));
  EXPECT_EQ(l.bytes_bucket()->budget(), 200u);
  EXPECT_EQ(l.ops_bucket()->budget(), 0u);  // as of the last consume, before refill
  EXPECT_EQ(l.wait_time(800, t0 + 500ms), 100ms);
  EXPECT_TRUE(l.consume(800, t0 + 600ms));
  EXPECT_EQ(l.ops_bucket()->budget(), 0u);
}

TEST(RateLimiterTest, AbsentBucketsDoNotLimit) {
  RateLimiter none(std::nullopt, std::nullopt);
  EXPECT_TRUE(none.unlimited());
  EXPECT_TRUE(none.consume(kMax, kMax, t0));
  EXPECT_EQ(none.wait_time(kMax, kMax, t0), 0ns);
  RateLimiter ops_only(std::nullopt, TokenBucket(1, 0, 100, t0));
  EXPECT_FALSE(ops_only.unlimited());
  EXPECT_TRUE(ops_only.consume(kMax, t0));
  EXPECT_FALSE(ops_only.consume(0, t0));
  EXPECT_EQ(ops_only.wait_time(0, t0), 100ms);
  // Zero ops is always allowed by the ops bucket (a byte-only charge).
  RateLimiter bytes_only(TokenBucket(10, 0, 100, t0), std::nullopt);
  EXPECT_TRUE(bytes_only.consume(10, 0, t0));
  EXPECT_FALSE(bytes_only.consume(1, 0, t0));
}

}  // namespace
}  // namespace bulwark::ratelimit
