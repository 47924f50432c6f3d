// The launcher's rate limit on the records it writes for one VM process (tenant-influenced:
// a guest can make its devices or monitor log as fast as they can write), so a flood cannot fill
// the host's disk through the launcher's log: a token bucket of `burst` lines refilled at
// `lines_per_second`. Lines beyond it are dropped and counted; the count is reported once lines
// are let through again, a report costing a token like a line, so the records written for a
// process over any time t stay within burst + lines_per_second * t, plus one last report when
// its stream ends. Pure: the caller says what time it is.
#pragma once

#include <chrono>
#include <cstdint>

namespace bulwark::jail {

inline constexpr double kRelayedLinesPerSecond = 100;
inline constexpr double kRelayedLineBurst = 1000;

class LineRateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  struct Decision {
    uint64_t report_dropped = 0;  // > 0: first write "N lines dropped" for the lines before this
    bool write_line = false;
  };

  LineRateLimiter(double lines_per_second, double burst, Clock::time_point start);

  // One line arrived at `now`.
  Decision on_line(Clock::time_point now);
  // The lines dropped and not reported yet, now taken (the stream ended).
  uint64_t take_dropped();

 private:
  void refill(Clock::time_point now);

  double rate_;
  double burst_;
  double tokens_;
  Clock::time_point last_;
  uint64_t dropped_ = 0;
};

}  // namespace bulwark::jail
