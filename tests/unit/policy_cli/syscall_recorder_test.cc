// `bulwark policy record` end to end on a real traced process (record_mode_probe) that installs
// a record-mode policy: every call is counted against the alternative that allowed it, calls
// outside the policy are counted in slot 0, and a record-mode process without a tracer refuses
// to start.
#include "jailer/policy_cli/syscall_recorder.h"

#include <gtest/gtest.h>

#include <sys/wait.h>

#include "temp_tree.h"

namespace bulwark::policy_cli {
namespace {

using testing::TempTree;

constexpr const char kProbePolicy[] =
    "# a test policy named like a process policy, so its recordings carry that name\n"
    "getppid -- counted three times\n"
    "exit_group -- the probe's exit\n";

TEST(SyscallRecorder, CountsEachCallAgainstTheRuleThatAllowedIt) {
  TempTree tree;
  tree.write("dev-rng.policy", kProbePolicy);
  SyscallUsage usage;
  auto run = record_syscalls({RECORD_MODE_PROBE, tree.path() + "/dev-rng.policy"}, usage);
  ASSERT_TRUE(run.ok()) << run.error().message();
  EXPECT_EQ(run->exit_status, 0);
  EXPECT_EQ((usage[UsageKey{"dev-rng.policy", 1, "getppid"}]), 3u) << format_syscall_usage(usage);
  EXPECT_EQ((usage[UsageKey{"dev-rng.policy", 2, "exit_group"}]), 1u) << format_syscall_usage(usage);
  EXPECT_EQ((usage[UsageKey{"dev-rng.policy", 0, "getuid"}]), 1u) << format_syscall_usage(usage);
  EXPECT_GE(run->stops, 5u);
}

TEST(SyscallRecorder, AnotherPolicyIsRecordedAsOther) {
  TempTree tree;
  tree.write("probe.policy", kProbePolicy);
  SyscallUsage usage;
  auto run = record_syscalls({RECORD_MODE_PROBE, tree.path() + "/probe.policy"}, usage);
  ASSERT_TRUE(run.ok()) << run.error().message();
  EXPECT_EQ((usage[UsageKey{kOtherPolicyName, 1, "getppid"}]), 3u) << format_syscall_usage(usage);
}

TEST(SyscallRecorder, ReturnsTheCommandsExitStatus) {
  SyscallUsage usage;
  auto run = record_syscalls({"/bin/sh", "-c", "exit 7"}, usage);
  ASSERT_TRUE(run.ok()) << run.error().message();
  EXPECT_EQ(run->exit_status, 7);
  EXPECT_EQ(run->stops, 0u);  // nothing installed a record-mode filter
  auto killed = record_syscalls({"/bin/sh", "-c", "kill -TERM $$"}, usage);
  ASSERT_TRUE(killed.ok());
  EXPECT_EQ(killed->exit_status, 128 + SIGTERM);
  auto missing = record_syscalls({"/nonexistent/command"}, usage);
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->exit_status, 127);
}

TEST(SyscallRecorder, RecordModeWithoutATracerRefusesToStart) {
  TempTree tree;
  tree.write("dev-rng.policy", kProbePolicy);
  const std::string command = std::string(RECORD_MODE_PROBE) + " " + tree.path() + "/dev-rng.policy 2>/dev/null";
  const int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 3);
}

TEST(SyscallUsageFile, FormatsAndAddsUp) {
  SyscallUsage usage{{UsageKey{"monitor-vcpu.policy", 17, "ioctl"}, 40}, {UsageKey{"dev-blk.policy", 0, "ptrace"}, 1}};
  const std::string text = format_syscall_usage(usage);
  EXPECT_NE(text.find("monitor-vcpu.policy 17 ioctl 40\n"), std::string::npos) << text;
  ASSERT_TRUE(parse_syscall_usage(text, usage).ok());
  EXPECT_EQ((usage[UsageKey{"monitor-vcpu.policy", 17, "ioctl"}]), 80u);
  EXPECT_EQ((usage[UsageKey{"dev-blk.policy", 0, "ptrace"}]), 2u);
}

TEST(SyscallUsageFile, RefusesMalformedLinesByNumber) {
  SyscallUsage usage;
  EXPECT_EQ(parse_syscall_usage("# c\nmonitor-main.policy 1 read\n", usage).error().message(),
            "line 2: expected POLICY SLOT SYSCALL CALLS");
  EXPECT_EQ(parse_syscall_usage("monitor-main.policy 4096 read 1\n", usage).error().message(),
            "line 1: slot is not 0 to 4095");
  EXPECT_EQ(parse_syscall_usage("monitor-main.policy 1 read -1\n", usage).error().message(),
            "line 1: malformed call count");
  EXPECT_EQ(parse_syscall_usage("../x 1 read 1\n", usage).error().message(),
            "line 1: malformed policy or system call name");
}

}  // namespace
}  // namespace bulwark::policy_cli
