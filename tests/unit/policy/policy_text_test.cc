// The policy file parser: accepted forms, includes, and the exact FILE:LINE error for each
// malformed form.
#include "policy/seccomp_policy/policy_text.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace bulwark::policy {
namespace {

// Serves included files from a map and records which names were asked for.
struct FakeDirectory {
  std::map<std::string, std::string> files;
  std::vector<std::string> requested;

  IncludeReader reader() {
    return [this](const std::string& name) -> Result<std::string> {
      requested.push_back(name);
      const auto it = files.find(name);
      if (it == files.end()) return Error("no such file");
      return it->second;
    };
  }
};

Result<SeccompPolicy> parse(std::string_view text) {
  FakeDirectory none;
  return parse_seccomp_policy(text, "main.policy", none.reader());
}

std::string error_of(const Result<SeccompPolicy>& result) {
  return result.ok() ? std::string("(accepted)") : result.error().message();
}

TEST(PolicyText, UnconditionalRulesKeepNameReasonAndLocation) {
  Result<SeccompPolicy> policy = parse(
      "# The console.\n"
      "\n"
      "read -- read from already-open fds (console input, kernel image)\n"
      "  write\t--\tconsole output  \n");
  ASSERT_TRUE(policy.ok()) << policy.error().message();
  EXPECT_EQ(policy->name, "main.policy");
  ASSERT_EQ(policy->rules.size(), 2u);
  const SyscallRule& read = policy->rules[0];
  EXPECT_EQ(read.name, "read");
  EXPECT_TRUE(read.unconditional());
  EXPECT_EQ(read.reason, "read from already-open fds (console input, kernel image)");
  EXPECT_EQ(read.location(), "main.policy:3");
  EXPECT_EQ(policy->rules[1].name, "write");
  EXPECT_EQ(policy->rules[1].reason, "console output");
  EXPECT_EQ(policy->rules[1].line, 4);
}

TEST(PolicyText, EmptyAndCommentOnlyTextsAllowNothing) {
  for (std::string_view text : {"", "\n\n", "# nothing\n   # at all\n"}) {
    Result<SeccompPolicy> policy = parse(text);
    ASSERT_TRUE(policy.ok()) << policy.error().message();
    EXPECT_TRUE(policy->rules.empty());
  }
}

TEST(PolicyText, ReasonMayContainHashAndDashes) {
  Result<SeccompPolicy> policy = parse("futex -- locks -- see issue #12\n");
  ASSERT_TRUE(policy.ok()) << policy.error().message();
  EXPECT_EQ(policy->rules[0].reason, "locks -- see issue #12");
}

TEST(PolicyText, CrlfLineEndingsAreAccepted) {
  Result<SeccompPolicy> policy = parse("read -- a\r\nwrite -- b\r\n");
  ASSERT_TRUE(policy.ok()) << policy.error().message();
  ASSERT_EQ(policy->rules.size(), 2u);
  EXPECT_EQ(policy->rules[0].reason, "a");
  EXPECT_EQ(policy->rules[1].line, 2);
}

TEST(PolicyText, ConditionIsParsedIntoClauses) {
  Result<SeccompPolicy> policy = parse(
      "ioctl: arg1 == KVM_RUN || arg1 == KVM_GET_REGS   -- run and inspect vCPUs\n"
      "mmap: arg2 & ~(PROT_READ|PROT_WRITE) == 0 && arg3 & MAP_SHARED == MAP_SHARED -- guest "
      "RAM\n");
  ASSERT_TRUE(policy.ok()) << policy.error().message();
  const SyscallRule& ioctl = policy->rules[0];
  ASSERT_EQ(ioctl.any_of.size(), 2u);
  EXPECT_EQ(ioctl.any_of[0][0].text, "arg1 == KVM_RUN");
  EXPECT_EQ(ioctl.any_of[0][0].value, uint64_t{0xae80});
  EXPECT_EQ(ioctl.any_of[1][0].value, uint64_t{0x8090ae81});
  EXPECT_EQ(ioctl.reason, "run and inspect vCPUs");
  const SyscallRule& mmap = policy->rules[1];
  ASSERT_EQ(mmap.any_of.size(), 1u);
  ASSERT_EQ(mmap.any_of[0].size(), 2u);
  EXPECT_EQ(mmap.any_of[0][0].op, CompareOp::kMaskedEq);
  EXPECT_EQ(mmap.any_of[0][0].mask, ~uint64_t{3});
  EXPECT_EQ(mmap.any_of[0][1].arg, 3u);
  EXPECT_EQ(mmap.any_of[0][1].mask, uint64_t{1});
  EXPECT_EQ(mmap.any_of[0][1].value, uint64_t{1});
}

struct BadText {
  const char* text;
  const char* error;
};

class PolicyTextError : public ::testing::TestWithParam<BadText> {};

TEST_P(PolicyTextError, ReportsFileLineAndMessage) {
  EXPECT_EQ(error_of(parse(GetParam().text)), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    MalformedLines, PolicyTextError,
    ::testing::Values(
        BadText{"read\n", "main.policy:1: missing reason: end the rule with ' -- ' and why the "
                          "call is needed"},
        BadText{"# one\n\nread --\n", "main.policy:3: empty reason after '--'"},
        BadText{"read --  \t\n", "main.policy:1: empty reason after '--'"},
        BadText{"-- why\n", "main.policy:1: missing system call name before '--'"},
        BadText{"Read -- why\n", "main.policy:1: 'Read' is not a system call name (lowercase "
                                 "letters, digits and '_')"},
        BadText{"9p -- why\n", "main.policy:1: '9p' is not a system call name (lowercase "
                               "letters, digits and '_')"},
        BadText{"io-ctl -- why\n", "main.policy:1: 'io-ctl' is not a system call name "
                                   "(lowercase letters, digits and '_')"},
        BadText{"ioctl arg1 == 1 -- why\n",
                "main.policy:1: expected ':' after the system call name 'ioctl'"},
        BadText{"ioctl: -- why\n", "main.policy:1: empty condition after ':' (without ':' the "
                                   "call is allowed with any arguments)"},
        BadText{": arg0 == 1 -- why\n", "main.policy:1: missing system call name before ':'"},
        BadText{"read # the console -- why\n",
                "main.policy:1: '#' inside a rule: comments go on their own line"},
        BadText{"read -- a\nwrite -- b\nread -- c\n",
                "main.policy:3: 'read' already has a rule at main.policy:1; join the "
                "conditions with '||' in one rule"},
        BadText{"read\x01 -- why\n", "main.policy:1: control character 0x01 is not allowed"},
        BadText{"read -- a\nwrite -- b\x1b[8m\n",
                "main.policy:2: control character 0x1b is not allowed"},
        BadText{"read -- a\x7f\n", "main.policy:1: control character 0x7f is not allowed"}));

INSTANTIATE_TEST_SUITE_P(
    MalformedConditions, PolicyTextError,
    ::testing::Values(
        BadText{"ioctl: arg6 == 1 -- x\n",
                "main.policy:1: 'arg6': system call arguments are arg0 to arg5"},
        BadText{"ioctl: arg10 == 1 -- x\n",
                "main.policy:1: 'arg10': system call arguments are arg0 to arg5"},
        BadText{"ioctl: argx == 1 -- x\n",
                "main.policy:1: expected a comparison starting with arg0..arg5, got 'argx'"},
        BadText{"ioctl: 1 == arg1 -- x\n",
                "main.policy:1: expected a comparison starting with arg0..arg5, got '1'"},
        BadText{"ioctl: arg1 = 1 -- x\n",
                "main.policy:1: '=' is not an operator; write '==' to test equality"},
        BadText{"ioctl: arg1 1 -- x\n", "main.policy:1: expected ==, !=, <, <=, >, >= or '& "
                                        "MASK ==' after 'arg1', got '1'"},
        BadText{"ioctl: arg1 -- x\n", "main.policy:1: expected ==, !=, <, <=, >, >= or '& "
                                      "MASK ==' after 'arg1', got the end of the condition"},
        BadText{"ioctl: arg1 == -- x\n", "main.policy:1: expected a number or constant name "
                                         "after '==', got the end of the condition"},
        BadText{"ioctl: arg1 == KVM_BOGUS -- x\n", "main.policy:1: unknown constant 'KVM_BOGUS'"},
        BadText{"ioctl: arg1 == kvm_run -- x\n", "main.policy:1: unknown constant 'kvm_run'"},
        BadText{"ioctl: arg1 == 0x10000000000000000 -- x\n",
                "main.policy:1: '0x10000000000000000' does not fit in 64 bits"},
        BadText{"ioctl: arg1 == 18446744073709551616 -- x\n",
                "main.policy:1: '18446744073709551616' does not fit in 64 bits"},
        BadText{"ioctl: arg1 == 0755 -- x\n", "main.policy:1: '0755' is not a number: a leading "
                                              "0 is not allowed (write hex as 0x...)"},
        BadText{"ioctl: arg1 == 12ab -- x\n", "main.policy:1: '12ab' is not a number"},
        BadText{"ioctl: arg1 == 0xfg -- x\n",
                "main.policy:1: '0xfg' is not a number (hex digits are 0-9 and a-f)"},
        BadText{"ioctl: arg1 == 0x -- x\n",
                "main.policy:1: '0x' is not a number (hex digits are missing)"},
        BadText{"ioctl: arg1 == -0x8000000000000001 -- x\n",
                "main.policy:1: '-0x8000000000000001' does not fit in 64 bits"},
        BadText{"ioctl: arg1 == - X -- x\n",
                "main.policy:1: expected a number after '-', got 'X'"},
        BadText{"ioctl: arg1 == 1 && -- x\n", "main.policy:1: expected a comparison after '&&'"},
        BadText{"ioctl: arg1 == 1 || -- x\n", "main.policy:1: expected a comparison after '||'"},
        BadText{"ioctl: arg1 == 1 arg2 == 2 -- x\n",
                "main.policy:1: expected '&&' or '||' after 'arg1 == 1', got 'arg2'"},
        BadText{"ioctl: arg1 == 1 & arg2 == 2 -- x\n",
                "main.policy:1: expected '&&' or '||' after 'arg1 == 1', got '&' (write '&&' "
                "for 'and')"},
        BadText{"ioctl: arg1 == 1 | arg2 == 2 -- x\n",
                "main.policy:1: 'arg2' cannot be used as a value (to join tests write '&&' or "
                "'||', not '&' or '|')"},
        BadText{"mmap: arg2 & PROT_EXEC != 0 -- x\n",
                "main.policy:1: a masked test 'arg2 & MASK' can only use '==', not '!='"},
        BadText{"mmap: arg2 & PROT_EXEC -- x\n",
                "main.policy:1: expected '==' after 'arg2 & MASK', got the end of the "
                "condition"},
        BadText{"mmap: arg2 & 3 == 4 -- x\n",
                "main.policy:1: 'arg2 & 3 == 4': the value 0x4 has bits outside the mask 0x3, "
                "so the test could never be true"},
        BadText{"mmap: arg2 & PROT_NONE == 0 -- x\n",
                "main.policy:1: 'arg2 & PROT_NONE == 0': a mask of 0 makes the test always "
                "true"},
        BadText{"ioctl: arg1 == 1 && arg1 == 2 -- x\n",
                "main.policy:1: arg1 is tested twice in one '&&' group ('arg1 == 1' and 'arg1 "
                "== 2'); seccomp allows one test per argument in a group, use '||' between "
                "alternatives"},
        BadText{"ioctl: arg1 == (1 -- x\n",
                "main.policy:1: expected ')', got the end of the condition"},
        BadText{"ioctl: (arg1 & 3 == 1 -- x\n",
                "main.policy:1: expected ')' after the mask, got '=='"},
        BadText{"ioctl: (arg1 == 1) -- x\n", "main.policy:1: expected '&' after '(arg1', got '=='"},
        BadText{"ioctl: arg1 == $ -- x\n", "main.policy:1: unexpected character '$' in condition"},
        BadText{"ioctl: arg1 == \xc3\xa9 -- x\n",
                "main.policy:1: unexpected byte 0xc3 in condition"},
        BadText{"ioctl: arg1 < 0 -- x\n",
                "main.policy:1: 'arg1 < 0' is never true (arguments are unsigned)"},
        BadText{"ioctl: arg1 >= 0 -- x\n",
                "main.policy:1: 'arg1 >= 0' is always true (arguments are unsigned)"},
        BadText{"ioctl: arg1 <= 0xffffffffffffffff -- x\n",
                "main.policy:1: 'arg1 <= 0xffffffffffffffff' is always true"},
        BadText{"ioctl: arg1 > -1 -- x\n", "main.policy:1: 'arg1 > -1' is never true"},
        BadText{"ioctl: arg1 == ((((((((((((((((((1)))))))))))))))))) -- x\n",
                "main.policy:1: value nested more than 16 deep"},
        BadText{"ioctl: arg1 == ~~~~~~~~~~~~~~~~~~1 -- x\n",
                "main.policy:1: value nested more than 16 deep"}));

INSTANTIATE_TEST_SUITE_P(
    MalformedIncludes, PolicyTextError,
    ::testing::Values(
        BadText{"@include\n", "main.policy:1: @include needs a file name"},
        BadText{"@include   # nothing\n", "main.policy:1: @include needs a file name"},
        BadText{"@include a.policy b.policy\n",
                "main.policy:1: @include takes one file name, got 'a.policy b.policy'"},
        BadText{"@inclde x.policy\n",
                "main.policy:1: unknown directive '@inclde' (@include or @unexercised)"},
        BadText{"@include ../x.policy\n", "main.policy:1: @include '../x.policy': only a file "
                                          "in the same directory can be included (no '/')"},
        BadText{"@include /etc/passwd\n", "main.policy:1: @include '/etc/passwd': only a file "
                                          "in the same directory can be included (no '/')"},
        BadText{"@include ..\n",
                "main.policy:1: @include '..': file names may not start with '.'"},
        BadText{"@include .hidden\n",
                "main.policy:1: @include '.hidden': file names may not start with '.'"},
        BadText{"@include a$b\n", "main.policy:1: @include 'a$b': file names may use letters, "
                                  "digits, '.', '_' and '-' only"},
        BadText{"\n@include missing.policy\n",
                "main.policy:2: cannot read included file 'missing.policy': no such file"}));

TEST(PolicyText, OverlongSyscallNameIsRefused) {
  const std::string name(65, 'a');
  EXPECT_EQ(error_of(parse(name + " -- x\n")),
            "main.policy:1: '" + name +
                "' is not a system call name (lowercase letters, digits and '_')");
}

TEST(PolicyText, NameCheckErrorsAreLocated) {
  FakeDirectory none;
  SyscallNameCheck only_read = [](std::string_view name) -> Status {
    if (name == "read") return ok_status();
    return Error("unknown system call '" + std::string(name) + "' on x86-64");
  };
  Result<SeccompPolicy> policy =
      parse_seccomp_policy("read -- a\nreadd -- b\n", "main.policy", none.reader(), only_read);
  EXPECT_EQ(error_of(policy), "main.policy:2: unknown system call 'readd' on x86-64");
}

TEST(PolicyText, IncludeWithoutReaderIsAnError) {
  Result<SeccompPolicy> policy = parse_seccomp_policy("@include a.policy\n", "main.policy", {});
  EXPECT_EQ(error_of(policy), "main.policy:1: @include is not available for this policy text");
}

TEST(PolicyTextInclude, RulesAreExpandedInPlaceWithTheirOwnLocation) {
  FakeDirectory dir;
  dir.files["common.policy"] = "# shared\nwrite -- console output\nexit_group -- exit\n";
  Result<SeccompPolicy> policy = parse_seccomp_policy(
      "read -- input\n@include common.policy   # the shared part\nioctl: arg1 == KVM_RUN -- run\n",
      "policies/monitor.policy", dir.reader());
  ASSERT_TRUE(policy.ok()) << policy.error().message();
  EXPECT_EQ(dir.requested, std::vector<std::string>{"common.policy"});
  EXPECT_EQ(policy->files,
            (std::vector<std::string>{"policies/monitor.policy", "policies/common.policy"}));
  std::vector<std::string> order;
  for (const SyscallRule& rule : policy->rules) order.push_back(rule.name + "@" + rule.location());
  EXPECT_EQ(order, (std::vector<std::string>{
                       "read@policies/monitor.policy:1", "write@policies/common.policy:2",
                       "exit_group@policies/common.policy:3", "ioctl@policies/monitor.policy:3"}));
}

TEST(PolicyTextInclude, ErrorInsideIncludedFileNamesThatFileAndLine) {
  FakeDirectory dir;
  dir.files["common.policy"] = "write -- ok\n\nclose\n";
  Result<SeccompPolicy> policy =
      parse_seccomp_policy("@include common.policy\n", "policies/main.policy", dir.reader());
  EXPECT_EQ(error_of(policy), "policies/common.policy:3: missing reason: end the rule with ' -- ' "
                              "and why the call is needed");
}

TEST(PolicyTextInclude, DuplicateAcrossIncludesNamesBothPlaces) {
  FakeDirectory dir;
  dir.files["common.policy"] = "read -- shared\n";
  Result<SeccompPolicy> policy = parse_seccomp_policy(
      "@include common.policy\nread -- again\n", "p/main.policy", dir.reader());
  EXPECT_EQ(error_of(policy), "p/main.policy:2: 'read' already has a rule at p/common.policy:1; "
                              "join the conditions with '||' in one rule");

  FakeDirectory two;
  two.files["a.policy"] = "close -- a\n";
  two.files["b.policy"] = "\nclose -- b\n";
  policy = parse_seccomp_policy("@include a.policy\n@include b.policy\n", "main.policy",
                                two.reader());
  EXPECT_EQ(error_of(policy), "b.policy:2: 'close' already has a rule at a.policy:1; join the "
                              "conditions with '||' in one rule");
}

TEST(PolicyTextInclude, CyclesAreErrors) {
  FakeDirectory self;
  EXPECT_EQ(error_of(parse_seccomp_policy("@include main.policy\n", "p/main.policy",
                                          self.reader())),
            "p/main.policy:1: include cycle: main.policy -> main.policy");
  EXPECT_TRUE(self.requested.empty());

  FakeDirectory dir;
  dir.files["a.policy"] = "@include b.policy\n";
  dir.files["b.policy"] = "read -- x\n@include a.policy\n";
  EXPECT_EQ(error_of(parse_seccomp_policy("@include a.policy\n", "p/main.policy", dir.reader())),
            "p/b.policy:2: include cycle: main.policy -> a.policy -> b.policy -> a.policy");
}

TEST(PolicyTextInclude, IncludingAFileTwiceIsAnError) {
  FakeDirectory dir;
  dir.files["common.policy"] = "# nothing yet\n";
  dir.files["a.policy"] = "@include common.policy\n";
  EXPECT_EQ(error_of(parse_seccomp_policy("@include common.policy\n@include common.policy\n",
                                          "main.policy", dir.reader())),
            "main.policy:2: 'common.policy' is already included at main.policy:1");
  EXPECT_EQ(error_of(parse_seccomp_policy("@include common.policy\n@include a.policy\n",
                                          "main.policy", dir.reader())),
            "a.policy:1: 'common.policy' is already included at main.policy:1");
}

TEST(PolicyTextInclude, EightLevelsAreAllowedNineAreNot) {
  // main.policy -> f1.policy -> ... -> fN.policy
  auto chain = [](int levels) {
    FakeDirectory dir;
    for (int i = 1; i <= levels; ++i) {
      const std::string next =
          i < levels ? "@include f" + std::to_string(i + 1) + ".policy\n" : "read -- deep\n";
      dir.files["f" + std::to_string(i) + ".policy"] = next;
    }
    return dir;
  };
  FakeDirectory eight = chain(8);
  Result<SeccompPolicy> ok = parse_seccomp_policy("@include f1.policy\n", "main.policy",
                                                  eight.reader());
  ASSERT_TRUE(ok.ok()) << ok.error().message();
  EXPECT_EQ(ok->rules.at(0).location(), "f8.policy:1");
  EXPECT_EQ(ok->files.size(), 9u);

  FakeDirectory nine = chain(9);
  EXPECT_EQ(error_of(parse_seccomp_policy("@include f1.policy\n", "main.policy", nine.reader())),
            "f8.policy:1: includes are nested more than 8 deep");
}

TEST(PolicyTextInclude, ReaderErrorsAreLocatedAtTheIncludeLine) {
  FakeDirectory dir;
  dir.files["a.policy"] = "read -- x\n\n@include gone.policy\n";
  EXPECT_EQ(error_of(parse_seccomp_policy("@include a.policy\n", "main.policy", dir.reader())),
            "a.policy:3: cannot read included file 'gone.policy': no such file");
}

}  // namespace
}  // namespace bulwark::policy
