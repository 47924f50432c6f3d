// The audit listing and the flattened policy text.
#include "policy/seccomp_policy/policy_listing.h"

#include <gtest/gtest.h>

#include <map>

#include "policy/seccomp_policy/policy_text.h"

namespace bulwark::policy {
namespace {

SeccompPolicy parse_with_include() {
  std::map<std::string, std::string> files{{"common.policy", "write -- console output\n"}};
  IncludeReader reader = [&files](const std::string& name) -> Result<std::string> {
    return files.at(name);
  };
  Result<SeccompPolicy> policy = parse_seccomp_policy(
      "read -- console input\n"
      "@include common.policy\n"
      "ioctl: arg1 == KVM_RUN || arg1 == KVM_GET_REGS && arg0 != 3 -- run and inspect vCPUs\n"
      "mmap: (arg2 & ~(PROT_READ|PROT_WRITE)) == 0 -- guest memory -- never executable\n",
      "etc/monitor.policy", reader);
  EXPECT_TRUE(policy.ok()) << policy.error().message();
  return policy.ok() ? *policy : SeccompPolicy{};
}

TEST(PolicyListing, DescribeShowsEveryRuleWithValuesReasonAndOrigin) {
  const std::string listing = describe_seccomp_policy(parse_with_include());
  EXPECT_EQ(listing,
            "Seccomp policy etc/monitor.policy\n"
            "Files: etc/monitor.policy etc/common.policy\n"
            "4 system call(s) allowed; any other system call is a violation.\n"
            "\n"
            "read: any arguments\n"
            "  why:  console input\n"
            "  from: etc/monitor.policy:1\n"
            "\n"
            "write: any arguments\n"
            "  why:  console output\n"
            "  from: etc/common.policy:1\n"
            "\n"
            "ioctl: only if one of\n"
            "    arg1 == KVM_RUN\n"
            "        i.e. arg1 == 0xae80\n"
            "    arg1 == KVM_GET_REGS && arg0 != 3\n"
            "        i.e. arg1 == 0x8090ae81 && arg0 != 0x3\n"
            "  why:  run and inspect vCPUs\n"
            "  from: etc/monitor.policy:3\n"
            "\n"
            "mmap: only if\n"
            "    (arg2 & ~(PROT_READ|PROT_WRITE)) == 0\n"
            "        i.e. (arg2 & 0xfffffffffffffffc) == 0x0\n"
            "  why:  guest memory -- never executable\n"
            "  from: etc/monitor.policy:4\n");
}

TEST(PolicyListing, FormatFlattensIncludesAndParsesBackToTheSameRules) {
  const SeccompPolicy original = parse_with_include();
  const std::string flat = format_seccomp_policy(original);
  EXPECT_EQ(flat.find("@include"), std::string::npos);
  Result<SeccompPolicy> again = parse_seccomp_policy(flat, "flat.policy", {});
  ASSERT_TRUE(again.ok()) << again.error().message() << "\n" << flat;
  ASSERT_EQ(again->rules.size(), original.rules.size());
  for (size_t i = 0; i < original.rules.size(); ++i) {
    EXPECT_EQ(again->rules[i].name, original.rules[i].name);
    EXPECT_EQ(again->rules[i].reason, original.rules[i].reason);
    EXPECT_EQ(again->rules[i].any_of, original.rules[i].any_of);
  }
  EXPECT_NE(flat.find("# from etc/common.policy:1\nwrite -- console output\n"), std::string::npos)
      << flat;
}

}  // namespace
}  // namespace bulwark::policy
