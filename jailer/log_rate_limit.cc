#include "jailer/log_rate_limit.h"

#include <algorithm>

namespace bulwark::jail {

LineRateLimiter::LineRateLimiter(double lines_per_second, double burst, Clock::time_point start)
    : rate_(std::max(lines_per_second, 0.0)), burst_(std::max(burst, 2.0)), tokens_(burst_), last_(start) {}

void LineRateLimiter::refill(Clock::time_point now) {
  if (now <= last_) return;
  const double seconds = std::chrono::duration<double>(now - last_).count();
  tokens_ = std::min(burst_, tokens_ + seconds * rate_);
  last_ = now;
}

LineRateLimiter::Decision LineRateLimiter::on_line(Clock::time_point now) {
  refill(now);
  Decision decision;
  // After drops, a line goes through only with the report of them: two tokens.
  const double needed = dropped_ == 0 ? 1.0 : 2.0;
  if (tokens_ < needed) {
    ++dropped_;
    return decision;
  }
  tokens_ -= needed;
  decision.report_dropped = take_dropped();
  decision.write_line = true;
  return decision;
}

uint64_t LineRateLimiter::take_dropped() {
  const uint64_t dropped = dropped_;
  dropped_ = 0;
  return dropped;
}

}  // namespace bulwark::jail
