// The Prometheus text GetMetrics returns.
#include "monitor/vmm/monitor_metrics.h"

#include <gtest/gtest.h>

namespace bulwark::vmm {
namespace {

using namespace std::chrono_literals;

TEST(MonitorMetricsTest, EveryFamilyHasHelpTypeAndItsSamples) {
  MonitorMetrics m;
  m.vcpu_exits = {{"IO", 487}, {"MMIO", 2}};
  m.vcpus = 2;
  m.paused = true;
  m.uptime = 12345ms;
  EXPECT_EQ(format_prometheus_metrics(m),
            "# HELP bulwark_monitor_vcpu_exits_total vCPU exits the monitor handled, by KVM exit reason (all vCPUs).\n"
            "# TYPE bulwark_monitor_vcpu_exits_total counter\n"
            "bulwark_monitor_vcpu_exits_total{reason=\"IO\"} 487\n"
            "bulwark_monitor_vcpu_exits_total{reason=\"MMIO\"} 2\n"
            "# HELP bulwark_monitor_vcpus vCPUs of this VM.\n"
            "# TYPE bulwark_monitor_vcpus gauge\n"
            "bulwark_monitor_vcpus 2\n"
            "# HELP bulwark_monitor_paused 1 while the VM is paused, else 0.\n"
            "# TYPE bulwark_monitor_paused gauge\n"
            "bulwark_monitor_paused 1\n"
            "# HELP bulwark_monitor_uptime_seconds Seconds since the monitor started.\n"
            "# TYPE bulwark_monitor_uptime_seconds gauge\n"
            "bulwark_monitor_uptime_seconds 12.345\n");
}

TEST(MonitorMetricsTest, RunningWithNoExitsYet) {
  MonitorMetrics m;
  m.vcpus = 1;
  m.uptime = 7ms;
  const std::string text = format_prometheus_metrics(m);
  EXPECT_EQ(text.find("bulwark_monitor_vcpu_exits_total{"), std::string::npos);
  EXPECT_NE(text.find("# TYPE bulwark_monitor_vcpu_exits_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("\nbulwark_monitor_paused 0\n"), std::string::npos);
  EXPECT_NE(text.find("\nbulwark_monitor_uptime_seconds 0.007\n"), std::string::npos);
}

TEST(MonitorMetricsTest, UptimeSecondsKeepThreeDecimals) {
  MonitorMetrics m;
  for (auto [ms, text] : {std::pair{0ms, "0.000"}, {1000ms, "1.000"}, {1050ms, "1.050"}, {-5ms, "0.000"},
                          {86400123ms, "86400.123"}}) {
    m.uptime = ms;
    EXPECT_NE(format_prometheus_metrics(m).find("bulwark_monitor_uptime_seconds " + std::string(text) + "\n"),
              std::string::npos)
        << text;
  }
}

TEST(MonitorMetricsTest, LabelValuesAreEscaped) {
  MonitorMetrics m;
  m.vcpu_exits = {{"a\"b\\c\nd", 1}, {"reason 99", 3}};
  const std::string text = format_prometheus_metrics(m);
  EXPECT_NE(text.find("bulwark_monitor_vcpu_exits_total{reason=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("bulwark_monitor_vcpu_exits_total{reason=\"reason 99\"} 3\n"), std::string::npos);
}

TEST(MonitorMetricsTest, EverySampleLineBelongsToADeclaredFamily) {
  MonitorMetrics m;
  m.vcpu_exits = {{"HLT", 1}};
  const std::string text = format_prometheus_metrics(m);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  std::string declared;
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.rfind("# TYPE ", 0) == 0) {
      declared = line.substr(7, line.find(' ', 7) - 7);
      continue;
    }
    if (line[0] == '#') continue;
    EXPECT_EQ(line.rfind("bulwark_monitor_", 0), 0u) << line;
    EXPECT_EQ(line.substr(0, declared.size()), declared) << line;
  }
}

}  // namespace
}  // namespace bulwark::vmm
