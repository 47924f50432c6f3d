// Record mode: the compiled program hands every call to the tracer with a tag naming the
// policy and the rule alternative that matched, or slot 0 when none did.
#include <gtest/gtest.h>

#include <linux/seccomp.h>
#include <sys/syscall.h>

#include "policy/seccomp_policy/policy_compiler.h"
#include "policy/seccomp_policy/policy_recording.h"
#include "policy/seccomp_policy/policy_text.h"
#include "policy/seccomp_policy/syscall_names.h"
#include "tests/unit/policy/bpf_interpreter.h"

namespace bulwark::policy {
namespace {

constexpr uint32_t kTrace = SECCOMP_RET_TRACE;

SeccompPolicy parse_named(std::string_view text, const std::string& name) {
  auto policy = parse_seccomp_policy(text, name, {}, check_x86_64_syscall_name);
  EXPECT_TRUE(policy.ok()) << policy.error().message();
  return policy.ok() ? *policy : SeccompPolicy{};
}

uint32_t decide(const std::vector<sock_filter>& program, int nr, std::array<uint64_t, 6> args = {},
                uint32_t arch = AUDIT_ARCH_X86_64) {
  auto result = testing::run_seccomp_program(program, testing::SeccompCall{nr, args, arch});
  EXPECT_TRUE(result.ok()) << result.error().message();
  return result.ok() ? *result : 0xdeadbeef;
}

TEST(PolicyRecording, ProcessPoliciesHaveFixedIdsAndOthersShareOne) {
  EXPECT_EQ(recording_policy_id("monitor-main.policy"), 1u);
  EXPECT_EQ(recording_policy_id("/jail/seccomp/monitor-vcpu.policy"), 2u);
  EXPECT_EQ(recording_policy_id("dev-blk.policy"), 3u);
  EXPECT_EQ(recording_policy_id("dev-rng.policy"), 4u);
  EXPECT_EQ(recording_policy_id("dev-net.policy"), 5u);
  EXPECT_EQ(recording_policy_id("api.policy"), 6u);
  EXPECT_EQ(recording_policy_id("dev-vsock.policy"), 7u);
  EXPECT_EQ(recording_policy_file(7), std::optional<std::string_view>("dev-vsock.policy"));
  EXPECT_EQ(recording_policy_file(8), std::nullopt);
  EXPECT_EQ(recording_policy_id("monitor-common.policy"), kOtherPolicyRecordingId);
  EXPECT_EQ(recording_policy_id("test.policy"), kOtherPolicyRecordingId);
  EXPECT_EQ(recording_policy_file(2), std::optional<std::string_view>("monitor-vcpu.policy"));
  EXPECT_EQ(recording_policy_file(kOtherPolicyRecordingId), std::nullopt);
  EXPECT_EQ(recording_policy_file(0), std::nullopt);
}

TEST(PolicyRecording, OneSlotPerUnconditionalRuleAndPerAlternative) {
  const SeccompPolicy policy = parse_named(
      "read -- in\nioctl: arg1 == 1 || arg1 == 2 && arg0 == 3 || arg1 == 4 -- io\nwrite -- out\n", "t.policy");
  const auto slots = recording_slots(policy);
  ASSERT_EQ(slots.size(), 5u);
  EXPECT_EQ(slots[0].rule, 0u);
  EXPECT_EQ(slots[0].clause, std::nullopt);
  EXPECT_EQ(slots[1].rule, 1u);
  EXPECT_EQ(slots[1].clause, std::optional<size_t>(0));
  EXPECT_EQ(slots[3].clause, std::optional<size_t>(2));
  EXPECT_EQ(slots[4].rule, 2u);
}

TEST(PolicyRecording, EveryAlternativeStopsWithItsOwnTag) {
  const SeccompPolicy policy = parse_named(
      "read -- in\nioctl: arg1 == 1 || arg1 == 2 && arg0 == 3 || arg1 == 4 -- io\nwrite -- out\n",
      "/some/dir/monitor-vcpu.policy");
  auto program = compile_seccomp_policy(policy, ViolationAction::kRecord);
  ASSERT_TRUE(program.ok()) << program.error().message();
  const unsigned id = 2;
  EXPECT_EQ(decide(*program, SYS_read), kTrace | recording_tag(id, 1));
  EXPECT_EQ(decide(*program, SYS_ioctl, {0, 1}), kTrace | recording_tag(id, 2));
  EXPECT_EQ(decide(*program, SYS_ioctl, {3, 2}), kTrace | recording_tag(id, 3));
  EXPECT_EQ(decide(*program, SYS_ioctl, {4, 2}), kTrace | recording_tag(id, kOutsidePolicySlot));
  EXPECT_EQ(decide(*program, SYS_ioctl, {0, 4}), kTrace | recording_tag(id, 4));
  EXPECT_EQ(decide(*program, SYS_write), kTrace | recording_tag(id, 5));
  EXPECT_EQ(decide(*program, SYS_getuid), kTrace | recording_tag(id, kOutsidePolicySlot));
  // Another ABI is still killed, not recorded.
  EXPECT_EQ(decide(*program, 3, {}, AUDIT_ARCH_I386), static_cast<uint32_t>(SECCOMP_RET_KILL_PROCESS));
}

TEST(PolicyRecording, TagsSplitBackIntoPolicyAndSlot) {
  const uint16_t tag = recording_tag(4, 4095);
  EXPECT_EQ(recording_tag_policy(tag), 4u);
  EXPECT_EQ(recording_tag_slot(tag), 4095u);
}

TEST(PolicyRecording, TooManyAlternativesToTellApartIsAnError) {
  std::string text = "ioctl: arg1 == 1";
  for (int i = 2; i <= 4100; ++i) text += " || arg1 == " + std::to_string(i);
  text += " -- many\n";
  const SeccompPolicy policy = parse_named(text, "t.policy");
  auto program = compile_seccomp_policy(policy, ViolationAction::kRecord);
  ASSERT_FALSE(program.ok());
  EXPECT_EQ(program.error().message(), "t.policy: more than 4095 rule alternatives cannot be told apart in record mode");
}

}  // namespace
}  // namespace bulwark::policy
