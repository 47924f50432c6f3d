// The launcher's restart decisions for a dead device process (jailer/device_supervisor.h): which
// ends are restarted, the operator's limit per window, the host config field that sets it, and
// the metrics that count restarts and seccomp kills.
#include <gtest/gtest.h>
#include <signal.h>

#include "jailer/api/device_metrics.h"
#include "jailer/device_supervisor.h"
#include "jailer/host_config.h"

namespace bulwark::jail {
namespace {

ProcessEnd exited(int code) { return {true, code, 0}; }
ProcessEnd killed(int signal) { return {false, 0, signal}; }

TEST(DeviceEndAction, ASeccompKillIsNeverRestartedANormalEndIsLeftAndAnyOtherEndIsRestarted) {
  EXPECT_EQ(device_end_action(killed(SIGSYS)), DeviceEndAction::kSecurityEvent);
  EXPECT_EQ(device_end_action(exited(0)), DeviceEndAction::kLeave);
  for (int signal : {SIGKILL, SIGSEGV, SIGABRT, SIGBUS, SIGTERM}) {
    EXPECT_EQ(device_end_action(killed(signal)), DeviceEndAction::kRestart) << signal;
  }
  EXPECT_EQ(device_end_action(exited(1)), DeviceEndAction::kRestart);
  // An exit status that happens to equal SIGSYS's number is a crash, not a seccomp kill.
  EXPECT_EQ(device_end_action(exited(SIGSYS)), DeviceEndAction::kRestart);
}

TEST(RestartWindow, AllowsMaxRestartsWithinTheWindowAndMoreOnceOldOnesAgeOut) {
  RestartWindow window({3, 600});
  const auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  EXPECT_TRUE(window.allow(t0));
  EXPECT_TRUE(window.allow(t0 + std::chrono::seconds(10)));
  EXPECT_TRUE(window.allow(t0 + std::chrono::seconds(20)));
  EXPECT_FALSE(window.allow(t0 + std::chrono::seconds(30)));
  EXPECT_EQ(window.recent(t0 + std::chrono::seconds(30)), 3u);
  EXPECT_FALSE(window.allow(t0 + std::chrono::seconds(599)));
  // The first restart left the window: one more is allowed, and only one.
  EXPECT_TRUE(window.allow(t0 + std::chrono::seconds(600)));
  EXPECT_FALSE(window.allow(t0 + std::chrono::seconds(601)));
}

TEST(RestartWindow, ZeroMaxRestartsAllowsNone) {
  RestartWindow window({0, 600});
  EXPECT_FALSE(window.allow(std::chrono::steady_clock::now()));
}

TEST(DeviceRestartHostConfig, DefaultsAreThreeInTenMinutesAndTheFieldIsBoundedAndStrict) {
  auto defaults = parse_host_config("{}");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->device_restart, (DeviceRestartLimit{3, 600}));
  auto set = parse_host_config(R"({"device_restart": {"max_restarts": 0, "window_seconds": 60}})");
  ASSERT_TRUE(set.ok()) << set.error().message();
  EXPECT_EQ(set->device_restart, (DeviceRestartLimit{0, 60}));
  EXPECT_NE(describe_host_config(*set).find("device_restart.max_restarts = 0"), std::string::npos);
  for (const char* bad : {R"({"device_restart": {"max_restarts": 101}})", R"({"device_restart": {"window_seconds": 0}})",
                          R"({"device_restart": {"window_seconds": 86401}})", R"({"device_restart": {"max_restarts": -1}})",
                          R"({"device_restart": {"max_restarts": "3"}})", R"({"device_restart": {"restarts": 3}})",
                          R"({"device_restart": 3})"}) {
    auto refused = parse_host_config(bad);
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_NE(refused.error().message().find("/device_restart"), std::string::npos) << refused.error().message();
  }
}

TEST(DeviceSupervisionMetrics, EachDeviceHasARestartAndASeccompKillSample) {
  const std::string text = device_supervision_metrics_text({{"blk0", 2, 0}, {"net0", 0, 1}});
  EXPECT_NE(text.find("# TYPE bulwark_device_restarts_total counter\n"), std::string::npos) << text;
  EXPECT_NE(text.find("bulwark_device_restarts_total{device=\"blk0\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("bulwark_device_seccomp_kills_total{device=\"net0\"} 1\n"), std::string::npos) << text;
  EXPECT_EQ(device_supervision_metrics_text({}), "");
}

}  // namespace
}  // namespace bulwark::jail
