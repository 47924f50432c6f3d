// How long each step of one VM's launch took (issue 14: GET /metrics'
// bulwark_launch_phase_seconds, PUT /metrics' "launch_phase_seconds"), measured by the launcher
// and, for the steps the jailed child runs between clone and execve, by that child into a page it
// shares with the launcher until its execve (jail.cc). CLOCK_MONOTONIC throughout: the child is
// in new namespaces but not a new time namespace, so its clock is the launcher's. No input from
// anyone but the clock.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bulwark::jail {

struct LaunchPhase {
  std::string name;  // one of api/README.md's phase names
  uint64_t nanoseconds = 0;
};

// CLOCK_MONOTONIC now, in nanoseconds.
uint64_t monotonic_ns();

// `end - start`, or 0 when the clock readings are out of order (they never should be).
inline uint64_t elapsed_ns(uint64_t start, uint64_t end) { return end > start ? end - start : 0; }

}  // namespace bulwark::jail
