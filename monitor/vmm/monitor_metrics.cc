#include "monitor/vmm/monitor_metrics.h"

namespace bulwark::vmm {
namespace {

// A label value in double quotes: backslash, double quote and line feed escaped, as the format
// requires.
std::string label_value(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

void family(std::string& out, const std::string& name, const char* type, const char* help) {
  out += "# HELP " + name + " " + help + "\n";
  out += "# TYPE " + name + " " + type + "\n";
}

std::string seconds_text(std::chrono::milliseconds duration) {
  const int64_t ms = duration.count() < 0 ? 0 : duration.count();
  const std::string fraction = std::to_string(ms % 1000);
  return std::to_string(ms / 1000) + "." + std::string(3 - fraction.size(), '0') + fraction;
}

}  // namespace

std::string format_prometheus_metrics(const MonitorMetrics& metrics) {
  std::string out;
  const std::string exits = "bulwark_monitor_vcpu_exits_total";
  family(out, exits, "counter", "vCPU exits the monitor handled, by KVM exit reason (all vCPUs).");
  for (const auto& exit : metrics.vcpu_exits) {
    out += exits + "{reason=" + label_value(exit.reason) + "} " + std::to_string(exit.count) + "\n";
  }
  family(out, "bulwark_monitor_vcpus", "gauge", "vCPUs of this VM.");
  out += "bulwark_monitor_vcpus " + std::to_string(metrics.vcpus) + "\n";
  family(out, "bulwark_monitor_paused", "gauge", "1 while the VM is paused, else 0.");
  out += std::string("bulwark_monitor_paused ") + (metrics.paused ? "1" : "0") + "\n";
  family(out, "bulwark_monitor_uptime_seconds", "gauge", "Seconds since the monitor started.");
  out += "bulwark_monitor_uptime_seconds " + seconds_text(metrics.uptime) + "\n";
  return out;
}

}  // namespace bulwark::vmm
