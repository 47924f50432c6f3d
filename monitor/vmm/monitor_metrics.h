// The monitor's counters as Prometheus text (GetMetrics on the launcher's control channel; the
// launcher relays it to the API client). Pure formatting: the values come from the running VM.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace bulwark::vmm {

struct MonitorMetrics {
  struct ExitCount {
    std::string reason;  // ExitStats::reason_name: "IO", "MMIO", ...
    uint64_t count = 0;
  };
  std::vector<ExitCount> vcpu_exits;  // reasons counted at least once
  uint64_t vcpus = 0;
  bool paused = false;
  std::chrono::milliseconds uptime{0};
};

// Prometheus text exposition format 0.0.4: each family with its # HELP and # TYPE lines, every
// name prefixed bulwark_monitor_, label values escaped, each line ending in "\n". Numbers are
// written without the locale (uptime as seconds with three decimals).
std::string format_prometheus_metrics(const MonitorMetrics& metrics);

}  // namespace bulwark::vmm
