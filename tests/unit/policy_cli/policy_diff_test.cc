#include "jailer/policy_cli/policy_diff.h"

#include <gtest/gtest.h>

#include "jailer/policy_cli/policy_command.h"
#include "temp_tree.h"

namespace bulwark::policy_cli {
namespace {

using testing::TempTree;

std::string joined(const DiffReport& report) {
  std::string out;
  for (const std::string& line : report.lines) out += line + "\n";
  return out;
}

DiffReport diff(const TempTree& old_tree, const TempTree& new_tree) {
  auto report = diff_policy_trees(old_tree.path(), new_tree.path());
  EXPECT_TRUE(report.ok()) << (report.ok() ? "" : report.error().message());
  return report.ok() ? *report : DiffReport{};
}

class PolicyDiff : public ::testing::Test {
 protected:
  void SetUp() override {
    old_tree.copy_project_policy();
    new_tree.copy_project_policy();
  }
  TempTree old_tree;
  TempTree new_tree;
};

TEST_F(PolicyDiff, IdenticalTreesHaveNoChanges) {
  const DiffReport report = diff(old_tree, new_tree);
  EXPECT_FALSE(report.changed) << joined(report);
  EXPECT_FALSE(report.widening);
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(run_policy_command({"diff", old_tree.path(), new_tree.path()}), kPolicyExitOk);
  EXPECT_NE(::testing::internal::GetCapturedStdout().find("no changes"), std::string::npos);
}

TEST_F(PolicyDiff, NewSyscallInTheCommonFileWidensBothThreads) {
  new_tree.write("seccomp/monitor-common.policy",
                 new_tree.read("seccomp/monitor-common.policy") + "socket -- a new way out\n");
  const DiffReport report = diff(old_tree, new_tree);
  const std::string text = joined(report);
  EXPECT_TRUE(report.widening) << text;
  EXPECT_NE(text.find("monitor-main (monitor-main.policy):\n  WIDENING: + socket"), std::string::npos) << text;
  EXPECT_NE(text.find("monitor-vcpu (monitor-vcpu.policy):\n  WIDENING: + socket"), std::string::npos) << text;
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(run_policy_command({"diff", old_tree.path(), new_tree.path()}), kPolicyExitWidening);
  ::testing::internal::GetCapturedStdout();
}

TEST_F(PolicyDiff, LoosenedIoctlConditionIsAWidening) {
  ASSERT_TRUE(new_tree.replace("seccomp/monitor-main.policy", "\nioctl: arg1 == KVM_IRQ_LINE",
                               "\nioctl: arg1 == KVM_IRQ_LINE || arg1 == KVM_CREATE_VM"));
  const DiffReport report = diff(old_tree, new_tree);
  const std::string text = joined(report);
  EXPECT_TRUE(report.widening) << text;
  EXPECT_NE(text.find("WIDENING: ioctl: condition loosened, newly allowed: arg1 == KVM_CREATE_VM"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("monitor-vcpu"), std::string::npos) << "the vCPU policy did not change:\n" << text;
}

TEST_F(PolicyDiff, DroppedConditionIsAWidening) {
  ASSERT_TRUE(new_tree.replace("seccomp/monitor-common.policy", "tgkill: arg2 == SIGUSR1", "tgkill"));
  const DiffReport report = diff(old_tree, new_tree);
  EXPECT_TRUE(report.widening);
  EXPECT_NE(joined(report).find("WIDENING: tgkill: condition removed, now any arguments"), std::string::npos)
      << joined(report);
}

TEST_F(PolicyDiff, RemovedRuleAndTightenedConditionAreNarrowings) {
  ASSERT_TRUE(new_tree.replace("seccomp/monitor-main.policy", "\nexit_group ", "\n# exit_group "));
  ASSERT_TRUE(new_tree.replace("seccomp/monitor-vcpu.policy", "\nioctl: arg1 == KVM_RUN || arg1 == KVM_GET_REGS ||",
                               "\nioctl: arg1 == KVM_RUN ||"));
  const DiffReport report = diff(old_tree, new_tree);
  const std::string text = joined(report);
  EXPECT_TRUE(report.changed);
  EXPECT_FALSE(report.widening) << text;
  EXPECT_NE(text.find("narrowing: - exit_group removed"), std::string::npos) << text;
  EXPECT_NE(text.find("narrowing: ioctl: condition tightened, no longer allowed: arg1 == KVM_GET_REGS"),
            std::string::npos)
      << text;
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(run_policy_command({"diff", old_tree.path(), new_tree.path()}), kPolicyExitOk);
  ::testing::internal::GetCapturedStdout();
}

TEST_F(PolicyDiff, ReasonChangeIsReportedButNotAWidening) {
  ASSERT_TRUE(new_tree.replace("seccomp/monitor-main.policy", "the monitor exits with the VM's exit code",
                               "the monitor ends"));
  const DiffReport report = diff(old_tree, new_tree);
  EXPECT_TRUE(report.changed);
  EXPECT_FALSE(report.widening);
  EXPECT_NE(joined(report).find("exit_group: reason changed"), std::string::npos) << joined(report);
}

TEST_F(PolicyDiff, SeccompDirectoriesCanBeComparedDirectly) {
  new_tree.write("seccomp/monitor-vcpu.policy", new_tree.read("seccomp/monitor-vcpu.policy") + "getrandom -- entropy\n");
  auto report = diff_policy_trees(old_tree.path() + "/seccomp", new_tree.path() + "/seccomp");
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_TRUE(report->widening);
  EXPECT_NE(joined(*report).find("WIDENING: + getrandom"), std::string::npos) << joined(*report);
}

TEST_F(PolicyDiff, NewSelinuxPermissionIsAWidening) {
  old_tree.write("selinux/bulwark.te", "allow bulwark_vm_t self:process { signal };\n");
  new_tree.write("selinux/bulwark.te", "allow bulwark_vm_t self:process { signal ptrace };\n"
                                       "kernel_read_system_state(bulwark_vm_t)\n");
  const DiffReport report = diff(old_tree, new_tree);
  const std::string text = joined(report);
  EXPECT_TRUE(report.widening) << text;
  EXPECT_NE(text.find("WIDENING: + allow bulwark_vm_t self:process ptrace"), std::string::npos) << text;
  EXPECT_NE(text.find("WIDENING: + call kernel_read_system_state(bulwark_vm_t)"), std::string::npos) << text;
  EXPECT_EQ(text.find("signal"), std::string::npos) << text;
}

// An allowxperm list limits ioctl: a command added to it widens, and so does the list's removal
// (every command the allow rule permits then passes); a command taken out narrows.
TEST_F(PolicyDiff, IoctlCommandListsWidenWhenTheyGrowOrGo) {
  const std::string allow = "allow bulwark_dev_net_t tun_tap_device_t:chr_file { read write ioctl };\n";
  old_tree.write("selinux/bulwark.te",
                 allow + "allowxperm bulwark_dev_net_t tun_tap_device_t:chr_file ioctl { 0x54d0 0x54d2 };\n");
  new_tree.write("selinux/bulwark.te",
                 allow + "allowxperm bulwark_dev_net_t tun_tap_device_t:chr_file ioctl { 0x54d0 0x54ca };\n");
  DiffReport report = diff(old_tree, new_tree);
  std::string text = joined(report);
  EXPECT_TRUE(report.widening) << text;
  EXPECT_NE(text.find("WIDENING: + allowxperm bulwark_dev_net_t tun_tap_device_t:chr_file ioctl 0x54ca"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("narrowing: - allowxperm bulwark_dev_net_t tun_tap_device_t:chr_file ioctl 0x54d2"),
            std::string::npos)
      << text;

  new_tree.write("selinux/bulwark.te", allow);
  report = diff(old_tree, new_tree);
  text = joined(report);
  EXPECT_TRUE(report.widening) << text;
  EXPECT_NE(text.find("WIDENING: bulwark_dev_net_t tun_tap_device_t:chr_file ioctl: no allowxperm command list left"),
            std::string::npos)
      << text;

  new_tree.write("selinux/bulwark.te",
                 allow + "allowxperm bulwark_dev_net_t tun_tap_device_t:chr_file ioctl 0x54d0;\n");
  report = diff(old_tree, new_tree);
  EXPECT_TRUE(report.changed);
  EXPECT_FALSE(report.widening) << joined(report);
}

TEST_F(PolicyDiff, InvalidPolicyIsAnError) {
  new_tree.write("seccomp/monitor-main.policy", "read\n");
  auto report = diff_policy_trees(old_tree.path(), new_tree.path());
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.error().message().find("monitor-main.policy:1"), std::string::npos) << report.error().message();
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(run_policy_command({"diff", old_tree.path(), new_tree.path()}), kPolicyExitError);
  ::testing::internal::GetCapturedStderr();
}

}  // namespace
}  // namespace bulwark::policy_cli
