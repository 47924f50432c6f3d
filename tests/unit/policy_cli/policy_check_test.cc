#include "jailer/policy_cli/policy_check.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "jailer/policy_cli/policy_command.h"
#include "temp_tree.h"

namespace bulwark::policy_cli {
namespace {

using testing::TempTree;

CheckReport check(const TempTree& tree) {
  auto report = check_policy_dir(tree.path());
  EXPECT_TRUE(report.ok()) << (report.ok() ? "" : report.error().message());
  return report.ok() ? *report : CheckReport{};
}

// The finding of `kind` at FILE:LINE, or nullptr.
const Finding* find(const CheckReport& report, const std::string& kind, const std::string& location) {
  const auto found = std::find_if(report.findings.begin(), report.findings.end(),
                                  [&](const Finding& f) { return f.kind == kind && f.location == location; });
  return found == report.findings.end() ? nullptr : &*found;
}

std::string all_findings(const CheckReport& report) { return render_check_report(report); }

TEST(PolicyCheck, ProjectPolicyFilesAreClean) {
  auto report = check_policy_dir(std::string(BULWARK_SOURCE_POLICY_DIR) + "/seccomp");
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_TRUE(report->findings.empty()) << render_check_report(*report);
  EXPECT_GE(report->files, 3u);
  EXPECT_GT(report->rules, 10u);
}

TEST(PolicyCheck, ReportsEveryBadLineNotOnlyTheFirst) {
  TempTree tree;
  tree.write("a.policy",
             "read -- console input\n"
             "frobnicate -- no such call\n"            // 2: unknown
             "write\n"                                  // 3: no reason
             "mmap: arg2 &&& 1 -- broken condition\n"   // 4: malformed
             "read -- a second rule for read\n"         // 5: duplicate
             "close --   \n");                          // 6: empty reason
  const CheckReport report = check(tree);
  const std::string a = tree.path() + "/a.policy:";
  EXPECT_NE(find(report, kFindingUnknownSyscall, a + "2"), nullptr) << all_findings(report);
  EXPECT_NE(find(report, kFindingMissingReason, a + "3"), nullptr) << all_findings(report);
  EXPECT_NE(find(report, kFindingMalformed, a + "4"), nullptr) << all_findings(report);
  const Finding* duplicate = find(report, kFindingDuplicate, a + "5");
  ASSERT_NE(duplicate, nullptr) << all_findings(report);
  EXPECT_NE(duplicate->message.find("a.policy:1"), std::string::npos) << duplicate->message;
  EXPECT_NE(find(report, kFindingMissingReason, a + "6"), nullptr) << all_findings(report);
  EXPECT_EQ(report.findings.size(), 5u) << all_findings(report);
}

TEST(PolicyCheck, IncludeCycleAndMissingInclude) {
  TempTree tree;
  tree.write("top.policy", "@include one.policy\n@include absent.policy\nread -- input\n");
  tree.write("one.policy", "write -- output\n@include two.policy\n");
  tree.write("two.policy", "@include one.policy\n");
  const CheckReport report = check(tree);
  EXPECT_NE(find(report, kFindingMissingInclude, tree.path() + "/top.policy:2"), nullptr) << all_findings(report);
  const bool cycle = std::any_of(report.findings.begin(), report.findings.end(),
                                 [](const Finding& f) { return f.kind == kFindingIncludeCycle; });
  EXPECT_TRUE(cycle) << all_findings(report);
}

TEST(PolicyCheck, ThreadPolicyRepeatingACommonCall) {
  TempTree tree;
  tree.write("common.policy", "futex -- locks\nwrite -- output\n");
  tree.write("thread.policy", "@include common.policy\nread -- input\nfutex -- again\n");
  const CheckReport report = check(tree);
  const Finding* finding = find(report, kFindingAlreadyInCommon, tree.path() + "/thread.policy:3");
  ASSERT_NE(finding, nullptr) << all_findings(report);
  EXPECT_NE(finding->message.find("common.policy:1"), std::string::npos) << finding->message;
}

TEST(PolicyCheck, UnconditionalWhereAnotherFileHasACondition) {
  TempTree tree;
  tree.write("main.policy", "ioctl -- anything on any fd\n");
  tree.write("vcpu.policy", "ioctl: arg1 == KVM_RUN -- run the vCPU\n");
  const CheckReport report = check(tree);
  const Finding* finding = find(report, kFindingUnconditional, tree.path() + "/main.policy:1");
  ASSERT_NE(finding, nullptr) << all_findings(report);
  EXPECT_NE(finding->message.find("KVM_RUN"), std::string::npos) << finding->message;
  EXPECT_EQ(report.findings.size(), 1u) << all_findings(report);
}

TEST(PolicyCheck, TestBuildOverlayIsNotComparedWithProcessPolicies) {
  TempTree tree;
  tree.write("monitor-main.policy", "madvise: arg2 == MADV_DONTNEED -- return pages\n");
  tree.write("sanitizer-runtime.policy", "madvise -- the sanitizer tunes its shadow memory\n");
  const CheckReport report = check(tree);
  EXPECT_TRUE(report.findings.empty()) << all_findings(report);
  EXPECT_FALSE(report.notes.empty());
}

TEST(PolicyCheck, UnexercisedNotesAreCheckedAtTheirOwnLines) {
  TempTree tree;
  tree.write("a.policy",
             "@unexercised brk -- fine\n"
             "brk -- heap\n"
             "@unexercised mmap: arg2 == 1 -- names no alternative\n"
             "mmap: arg2 & PROT_EXEC == 0 -- heap\n"
             "@unexercised read -- dangling before an include\n"
             "@include b.policy\n"
             "@unexercised write -- dangling at the end\n");
  tree.write("b.policy", "close -- fds\n");
  const CheckReport report = check(tree);
  const std::string a = tree.path() + "/a.policy";
  ASSERT_NE(find(report, kFindingMalformed, a + ":3"), nullptr) << all_findings(report);
  EXPECT_EQ(find(report, kFindingMalformed, a + ":3")->message,
            "@unexercised: 'arg2 == 1' is not one of the alternatives of the rule for 'mmap' below it");
  ASSERT_NE(find(report, kFindingMalformed, a + ":5"), nullptr) << all_findings(report);
  EXPECT_EQ(find(report, kFindingMalformed, a + ":5")->message, "@unexercised must be directly above the rule it is about");
  EXPECT_NE(find(report, kFindingMalformed, a + ":7"), nullptr) << all_findings(report);
  EXPECT_EQ(report.findings.size(), 3u) << all_findings(report);
}

TEST(PolicyCheck, CommandExitCodes) {
  TempTree clean;
  clean.write("a.policy", "read -- input\n");
  TempTree dirty;
  dirty.write("a.policy", "read\n");
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(run_policy_command({"check", "--policy-dir", clean.path()}), kPolicyExitOk);
  EXPECT_EQ(run_policy_command({"check", "--policy-dir", dirty.path()}), kPolicyExitFindings);
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find(dirty.path() + "/a.policy:1: [missing-reason]"), std::string::npos) << out;
  EXPECT_EQ(run_policy_command({"check", "--policy-dir", dirty.path() + "/nonexistent"}), kPolicyExitError);
}

}  // namespace
}  // namespace bulwark::policy_cli
