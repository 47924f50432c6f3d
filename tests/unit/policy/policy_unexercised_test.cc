// `@unexercised` lines: the written reason a rule (or one alternative of it) stays although
// the recorded test runs never make that call.
#include <gtest/gtest.h>

#include "policy/seccomp_policy/policy_text.h"

namespace bulwark::policy {
namespace {

Result<SeccompPolicy> parse_annotated_policy(std::string_view text) { return parse_seccomp_policy(text, "t.policy", {}); }

std::string error_of(std::string_view text) {
  auto parsed = parse_annotated_policy(text);
  return parsed.ok() ? "(parsed)" : parsed.error().message();
}

TEST(UnexercisedNote, AttachesToTheWholeRuleBelowIt) {
  auto policy = parse_annotated_policy(
      "read -- input\n"
      "@unexercised brk -- the heap never grew in the recorded runs\n"
      "brk -- heap\n");
  ASSERT_TRUE(policy.ok()) << policy.error().message();
  ASSERT_EQ(policy->rules.size(), 2u);
  EXPECT_TRUE(policy->rules[0].unexercised.empty());
  ASSERT_EQ(policy->rules[1].unexercised.size(), 1u);
  EXPECT_EQ(policy->rules[1].unexercised[0].clause, std::nullopt);
  EXPECT_EQ(policy->rules[1].unexercised[0].reason, "the heap never grew in the recorded runs");
  EXPECT_EQ(policy->rules[1].unexercised[0].line, 2);
}

TEST(UnexercisedNote, NamesOneAlternativeByItsTestNotItsSpelling) {
  auto policy = parse_annotated_policy(
      "@unexercised ioctl: arg1 == KVM_IRQ_LINE -- no guest used the UART interrupt\n"
      "@unexercised ioctl:arg1==0x4010ae67 && arg0 == 3 -- spelled differently\n"
      "ioctl: arg1 == KVM_RUN || arg1 == 0x4008ae61 || arg0 == 3 && arg1 == KVM_SET_GSI_ROUTING -- run\n");
  // KVM_IRQ_LINE is 0x4008ae61 and KVM_SET_GSI_ROUTING 0x4008ae6a, so the second note matches nothing.
  EXPECT_FALSE(policy.ok());
  auto fixed = parse_annotated_policy(
      "@unexercised ioctl: arg1 == KVM_IRQ_LINE -- no guest used the UART interrupt\n"
      "@unexercised ioctl:arg0==3&&arg1==0x4008ae6a -- spelled differently\n"
      "ioctl: arg1 == KVM_RUN || arg1 == 0x4008ae61 || arg0 == 3 && arg1 == KVM_SET_GSI_ROUTING -- run\n");
  ASSERT_TRUE(fixed.ok()) << fixed.error().message();
  const auto& notes = fixed->rules[0].unexercised;
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[0].clause, std::optional<size_t>(1));
  EXPECT_EQ(notes[1].clause, std::optional<size_t>(2));
}

TEST(UnexercisedNote, MustBeDirectlyAboveItsRule) {
  EXPECT_EQ(error_of("@unexercised brk -- x\n"), "t.policy:1: @unexercised must be directly above the rule it is about");
  EXPECT_EQ(error_of("@unexercised brk -- x\n@include other.policy\nbrk -- heap\n"),
            "t.policy:1: @unexercised must be directly above the rule it is about");
  EXPECT_EQ(error_of("@unexercised brk -- x\nread -- input\n"),
            "t.policy:1: @unexercised is about 'brk' but the rule below it is for 'read'");
}

TEST(UnexercisedNote, RefusesWhatIsNotAnAlternativeOrIsNamedTwice) {
  EXPECT_EQ(error_of("@unexercised mmap: arg2 == 1 -- x\nmmap: arg2 & PROT_EXEC == 0 -- heap\n"),
            "t.policy:1: @unexercised: 'arg2 == 1' is not one of the alternatives of the rule for 'mmap' below it");
  EXPECT_EQ(error_of("@unexercised brk: arg0 == 0 -- x\nbrk -- heap\n"),
            "t.policy:1: @unexercised: 'arg0 == 0' is not one of the alternatives of the rule for 'brk' below it");
  EXPECT_EQ(error_of("@unexercised brk -- x\n@unexercised brk -- y\nbrk -- heap\n"),
            "t.policy:2: @unexercised: a second note for the same rule (the first is at line 1)");
  EXPECT_EQ(error_of("@unexercised read: arg0 == 1 || arg0 == 2 -- x\nread: arg0 == 1 || arg0 == 2 -- in\n"),
            "t.policy:1: @unexercised: name one alternative of the rule (no '||'), got 'arg0 == 1 || arg0 == 2'");
}

TEST(UnexercisedNote, NeedsANameAndAReason) {
  EXPECT_EQ(error_of("@unexercised brk\nbrk -- heap\n"),
            "t.policy:1: @unexercised: missing reason: end the line with ' -- ' and why the rule stays");
  EXPECT_EQ(error_of("@unexercised brk --  \nbrk -- heap\n"), "t.policy:1: @unexercised: empty reason after '--'");
  EXPECT_EQ(error_of("@unexercised -- why\nbrk -- heap\n"),
            "t.policy:1: @unexercised needs the system call name (and alternative) it is about");
  EXPECT_EQ(error_of("@unexercised Brk -- why\nbrk -- heap\n"),
            "t.policy:1: @unexercised: 'Brk' is not a system call name");
  EXPECT_EQ(error_of("@unexercisedbrk -- why\nbrk -- heap\n"),
            "t.policy:1: unknown directive '@unexercisedbrk' (@include or @unexercised)");
}

}  // namespace
}  // namespace bulwark::policy
