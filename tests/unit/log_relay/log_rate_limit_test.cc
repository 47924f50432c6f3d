// The per-process rate limit on the launcher's log (jailer/log_rate_limit.h): a flood from one
// VM process cannot write more than burst + rate * t records, plus one count of what it lost.
#include "jailer/log_rate_limit.h"

#include <gtest/gtest.h>

namespace bulwark::jail {
namespace {

using Clock = LineRateLimiter::Clock;
using std::chrono::milliseconds;

struct Tally {
  uint64_t lines = 0, reports = 0, reported = 0;
  void add(const LineRateLimiter::Decision& decision) {
    if (decision.write_line) ++lines;
    if (decision.report_dropped > 0) {
      ++reports;
      reported += decision.report_dropped;
    }
  }
};

TEST(LineRateLimiter, AFloodAtOneInstantGetsTheBurstAndOneCount) {
  const Clock::time_point t0{};
  LineRateLimiter limiter(100, 1000, t0);
  Tally tally;
  for (int i = 0; i < 100000; ++i) tally.add(limiter.on_line(t0));
  EXPECT_EQ(tally.lines, 1000u);
  EXPECT_EQ(tally.reports, 0u);
  EXPECT_EQ(limiter.take_dropped(), 99000u);
  EXPECT_EQ(limiter.take_dropped(), 0u);
}

TEST(LineRateLimiter, AFloodOverTimeStaysWithinBurstPlusRateTimesTime) {
  const Clock::time_point t0{};
  LineRateLimiter limiter(100, 1000, t0);
  Tally tally;
  // 100 000 lines over 10 s.
  for (int i = 0; i < 100000; ++i) tally.add(limiter.on_line(t0 + std::chrono::microseconds(i * 100)));
  const uint64_t left = limiter.take_dropped();
  const uint64_t records = tally.lines + tally.reports + (left > 0 ? 1 : 0);
  EXPECT_LE(records, 1000u + 100u * 10u + 1u);
  EXPECT_GE(tally.lines, 1400u);  // about half the refill goes to the reports
  // Every line is written or counted.
  EXPECT_EQ(tally.lines + tally.reported + left, 100000u);
}

TEST(LineRateLimiter, ACountIsReportedWhenLinesFlowAgain) {
  const Clock::time_point t0{};
  LineRateLimiter limiter(100, 10, t0);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(limiter.on_line(t0).write_line);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(limiter.on_line(t0).write_line);
  // 10 ms later one token: not enough for the report and the line.
  auto decision = limiter.on_line(t0 + milliseconds(10));
  EXPECT_FALSE(decision.write_line);
  decision = limiter.on_line(t0 + milliseconds(1000));
  EXPECT_TRUE(decision.write_line);
  EXPECT_EQ(decision.report_dropped, 6u);
  decision = limiter.on_line(t0 + milliseconds(1000));
  EXPECT_TRUE(decision.write_line);
  EXPECT_EQ(decision.report_dropped, 0u);
}

TEST(LineRateLimiter, AQuietProcessIsNeverLimited) {
  const Clock::time_point t0{};
  LineRateLimiter limiter(100, 1000, t0);
  for (int i = 0; i < 100000; ++i) ASSERT_TRUE(limiter.on_line(t0 + milliseconds(i * 10)).write_line) << i;
  EXPECT_EQ(limiter.take_dropped(), 0u);
}

}  // namespace
}  // namespace bulwark::jail
