// Conversion between Unix time and the UTC calendar fields an RTC presents, limited to the
// years 0000..9999 that a two-digit year plus a century register can express.
#pragma once

#include <cstdint>

namespace bulwark::legacy {

struct CivilTime {
  int year = 1970;      // 0..9999
  unsigned month = 1;   // 1..12
  unsigned day = 1;     // 1..31; converting a day past the month's end rolls into the next
  unsigned hour = 0;    // 0..23
  unsigned minute = 0;  // 0..59
  unsigned second = 0;  // 0..59
  unsigned weekday = 5;  // 1..7, Sunday = 1 (the RTC convention); ignored by to_unix
};

// Earliest and latest representable instants: 0000-01-01 00:00:00 and 9999-12-31 23:59:59.
inline constexpr int64_t kCivilTimeMinUnix = -62167219200;
inline constexpr int64_t kCivilTimeMaxUnix = 253402300799;

// Clamps `unix_seconds` into the representable range, then converts.
CivilTime civil_from_unix(int64_t unix_seconds);
// Fields outside their ranges are clamped first (day to 1..31); the result is in range.
int64_t unix_from_civil(const CivilTime& time);

}  // namespace bulwark::legacy
