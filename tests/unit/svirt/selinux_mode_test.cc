#include "jailer/svirt/selinux_mode.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace bulwark::jailer {
namespace {

TEST(SelinuxMode, ParsesTheThreeModes) {
  EXPECT_EQ(*parse_selinux_mode("enforce"), SelinuxMode::kEnforce);
  EXPECT_EQ(*parse_selinux_mode("auto"), SelinuxMode::kAuto);
  EXPECT_EQ(*parse_selinux_mode("off"), SelinuxMode::kOff);
  auto bad = parse_selinux_mode("permissive");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(), "selinux: 'permissive' is not one of enforce, auto, off");
  EXPECT_EQ(selinux_mode_name(SelinuxMode::kAuto), "auto");
}

TEST(SelinuxMode, EnforceRefusesWithoutSelinux) {
  auto plan = plan_svirt(SelinuxMode::kEnforce, false);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().message(),
            "selinux: enforce: SELinux is not enabled on this host (no policy loaded); refusing to "
            "launch a VM without sVirt confinement (set selinux: auto or off to run unconfined)");
}

TEST(SelinuxMode, EnforceWithSelinuxLabelsAndSetsTheExecContext) {
  auto plan = plan_svirt(SelinuxMode::kEnforce, true);
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->allocate_pair);
  EXPECT_TRUE(plan->set_exec_context);
  EXPECT_TRUE(plan->set_socket_context);
  EXPECT_TRUE(plan->warning.empty());
}

TEST(SelinuxMode, AutoWithoutSelinuxLabelsButWarnsAndSkipsTheExecContext) {
  auto plan = plan_svirt(SelinuxMode::kAuto, false);
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->allocate_pair);
  EXPECT_FALSE(plan->set_exec_context);
  EXPECT_FALSE(plan->set_socket_context) << "setsockcreatecon fails without SELinux";
  EXPECT_NE(plan->warning.find("the VM runs WITHOUT sVirt confinement"), std::string::npos);
  auto with = plan_svirt(SelinuxMode::kAuto, true);
  ASSERT_TRUE(with.ok());
  EXPECT_TRUE(with->set_exec_context);
  EXPECT_TRUE(with->set_socket_context);
  EXPECT_TRUE(with->warning.empty());
}

TEST(SelinuxMode, OffDoesNothingEvenWithSelinux) {
  for (bool enabled : {false, true}) {
    auto plan = plan_svirt(SelinuxMode::kOff, enabled);
    ASSERT_TRUE(plan.ok());
    EXPECT_FALSE(plan->allocate_pair);
    EXPECT_FALSE(plan->set_exec_context);
    EXPECT_FALSE(plan->set_socket_context);
    EXPECT_TRUE(plan->warning.empty());
  }
}

TEST(SelinuxMode, ThisHostReportsSelinuxDisabled) {
  if (std::filesystem::exists("/sys/fs/selinux/enforce")) GTEST_SKIP() << "SELinux is on here";
  EXPECT_FALSE(host_selinux_enabled());
}

}  // namespace
}  // namespace bulwark::jailer
