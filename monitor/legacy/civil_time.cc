#include "monitor/legacy/civil_time.h"

#include <algorithm>
#include <chrono>

namespace bulwark::legacy {

namespace chr = std::chrono;

CivilTime civil_from_unix(int64_t unix_seconds) {
  const int64_t clamped = std::clamp(unix_seconds, kCivilTimeMinUnix, kCivilTimeMaxUnix);
  const chr::sys_seconds instant{chr::seconds{clamped}};
  const chr::sys_days day = chr::floor<chr::days>(instant);
  const chr::year_month_day date{day};
  const chr::hh_mm_ss clock{instant - day};
  CivilTime out;
  out.year = static_cast<int>(date.year());
  out.month = static_cast<unsigned>(date.month());
  out.day = static_cast<unsigned>(date.day());
  out.hour = static_cast<unsigned>(clock.hours().count());
  out.minute = static_cast<unsigned>(clock.minutes().count());
  out.second = static_cast<unsigned>(clock.seconds().count());
  out.weekday = chr::weekday{day}.c_encoding() + 1;
  return out;
}

int64_t unix_from_civil(const CivilTime& time) {
  const int year = std::clamp(time.year, 0, 9999);
  const unsigned month = std::clamp(time.month, 1u, 12u);
  const unsigned day = std::clamp(time.day, 1u, 31u);
  // With a valid year and month, a day past the month's end counts on into the next month.
  const chr::sys_days date{chr::year{year} / chr::month{month} / chr::day{day}};
  const chr::sys_seconds instant = date + chr::hours{std::min(time.hour, 23u)} +
                                   chr::minutes{std::min(time.minute, 59u)} +
                                   chr::seconds{std::min(time.second, 59u)};
  return std::clamp<int64_t>(instant.time_since_epoch().count(), kCivilTimeMinUnix, kCivilTimeMaxUnix);
}

}  // namespace bulwark::legacy
