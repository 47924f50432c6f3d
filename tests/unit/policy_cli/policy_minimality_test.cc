// `bulwark policy minimality`: recorded usage against a small tree of process policies.
#include "jailer/policy_cli/policy_minimality.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "temp_tree.h"

namespace bulwark::policy_cli {
namespace {

using testing::TempTree;

// monitor-vcpu.policy slots: 1 brk, 2 write (from common.policy), 3 ioctl arg1 == 1, 4 ioctl arg1 == 2.
void write_tree(const TempTree& tree, const std::string& vcpu_notes = "") {
  tree.write("monitor-main.policy", "read -- r\nexit_group -- e\n");
  tree.write("common.policy", "@unexercised brk -- the heap never grew\nbrk -- heap\nwrite -- out\n");
  tree.write("monitor-vcpu.policy", "@include common.policy\n" + vcpu_notes + "ioctl: arg1 == 1 || arg1 == 2 -- io\n");
  tree.write("dev-blk.policy", "preadv -- io\n");
  tree.write("dev-rng.policy", "getrandom -- rng\n");
  tree.write("dev-net.policy", "readv -- tap\n");
  tree.write("api.policy", "poll -- wait\n");
  tree.write("dev-vsock.policy", "accept4 -- host clients\n");
  tree.write("sanitizer-runtime.policy", "# nothing extra for these tests\n");
}

SyscallUsage every_process_ran() {
  return {{{"monitor-main.policy", 1, "read"}, 4},   {{"monitor-main.policy", 2, "exit_group"}, 1},
          {{"monitor-vcpu.policy", 2, "write"}, 5},  {{"monitor-vcpu.policy", 3, "ioctl"}, 9},
          {{"dev-blk.policy", 1, "preadv"}, 2},      {{"dev-rng.policy", 1, "getrandom"}, 1},
          {{"dev-net.policy", 1, "readv"}, 3},      {{"api.policy", 1, "poll"}, 2},
          {{"dev-vsock.policy", 1, "accept4"}, 1}};
}

MinimalityReport check(const TempTree& tree, const SyscallUsage& usage) {
  auto report = check_minimality(tree.path(), usage);
  EXPECT_TRUE(report.ok()) << report.error().message();
  return report.ok() ? *report : MinimalityReport{};
}

std::vector<std::string> findings(const MinimalityReport& report) {
  std::vector<std::string> out;
  for (const Finding& f : report.findings) out.push_back(f.location.substr(f.location.rfind('/') + 1) + " " + f.kind);
  std::sort(out.begin(), out.end());
  return out;
}

TEST(PolicyMinimality, AnUnusedAlternativeWithoutAReasonIsAFinding) {
  TempTree tree;
  write_tree(tree);
  const MinimalityReport report = check(tree, every_process_ran());
  EXPECT_EQ(findings(report), std::vector<std::string>{"monitor-vcpu.policy:2 unexercised-without-reason"})
      << render_minimality_report(report);
  const std::string text = render_minimality_report(report);
  EXPECT_NE(text.find("`@unexercised ioctl: arg1 == 2 -- why it stays`"), std::string::npos) << text;
  // brk is unused too, but its reason is written: listed with the reason, not a finding.
  EXPECT_NE(text.find("never used: 'brk' (" + tree.path() + "/common.policy:2): the heap never grew"), std::string::npos)
      << text;
  ASSERT_EQ(report.policies.size(), 7u);
  EXPECT_EQ(report.policies[1].policy_file, "monitor-vcpu.policy");
  EXPECT_EQ(report.policies[1].allowed_syscalls, 3u);
  EXPECT_EQ(report.policies[1].used_syscalls, 2u);
  EXPECT_EQ(report.policies[1].alternatives, 4u);
  EXPECT_EQ(report.policies[1].used_alternatives, 2u);
  EXPECT_EQ(report.policies[1].calls, 14u);
}

TEST(PolicyMinimality, AWrittenReasonForTheAlternativeSettlesIt) {
  TempTree tree;
  write_tree(tree, "@unexercised ioctl: arg1 == 2 -- only when a guest does X\n");
  const MinimalityReport report = check(tree, every_process_ran());
  EXPECT_TRUE(report.findings.empty()) << render_minimality_report(report);
}

TEST(PolicyMinimality, AReasonOnACallTheRunsMadeIsANoteNotAFinding) {
  TempTree tree;
  write_tree(tree, "@unexercised ioctl: arg1 == 2 -- only when a guest does X\n");
  SyscallUsage usage = every_process_ran();
  usage[{"monitor-vcpu.policy", 1, "brk"}] = 1;
  usage[{"monitor-vcpu.policy", 4, "ioctl"}] = 1;
  const MinimalityReport report = check(tree, usage);
  EXPECT_TRUE(report.findings.empty()) << render_minimality_report(report);
  ASSERT_EQ(report.notes.size(), 2u);
  EXPECT_EQ(report.notes[0], tree.path() + "/common.policy:1: @unexercised 'brk', but the recorded runs made it "
                                           "(monitor-vcpu.policy): remove the note unless the call is made only in some runs");
  EXPECT_NE(report.notes[1].find("/monitor-vcpu.policy:2: @unexercised 'ioctl: arg1 == 2'"), std::string::npos);
}

TEST(PolicyMinimality, CallsNoRuleAllowsAndPoliciesNothingRanUnderAreFindings) {
  TempTree tree;
  write_tree(tree, "@unexercised ioctl: arg1 == 2 -- only when a guest does X\n");
  SyscallUsage usage = every_process_ran();
  usage.erase({"dev-blk.policy", 1, "preadv"});
  usage[{"dev-rng.policy", 0, "ptrace"}] = 1;
  const MinimalityReport report = check(tree, usage);
  EXPECT_EQ(findings(report), (std::vector<std::string>{"dev-blk.policy not-recorded", "dev-rng.policy not-allowed"}));
  EXPECT_NE(render_minimality_report(report).find("'ptrace' was made 1 times under this policy but no rule allows it"),
            std::string::npos);
}

TEST(PolicyMinimality, UsageRecordedWithOtherPolicyFilesIsRefused) {
  TempTree tree;
  write_tree(tree);
  SyscallUsage usage = every_process_ran();
  usage[{"dev-rng.policy", 1, "read"}] = 1;
  auto report = check_minimality(tree.path(), usage);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.error().message().find("recorded with other policy files?"), std::string::npos);
  usage.erase({"dev-rng.policy", 1, "read"});
  usage[{"dev-rng.policy", 7, "getrandom"}] = 1;
  EXPECT_FALSE(check_minimality(tree.path(), usage).ok());
}

}  // namespace
}  // namespace bulwark::policy_cli
