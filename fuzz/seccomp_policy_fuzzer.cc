// parse_seccomp_policy on arbitrary text. The input holds up to three files separated by lines
// "===": dir/main.policy, then a.policy and b.policy, which main.policy may @include (any other
// name is missing). Checks: no crash; every error starts with FILE:LINE; an accepted policy
// is well formed, and its flattened text (format_seccomp_policy) parses to the same rules.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "policy/seccomp_policy/policy_listing.h"
#include "policy/seccomp_policy/policy_text.h"

namespace {

using namespace bulwark;
using namespace bulwark::policy;

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "%s\n%s\n", what, detail.c_str());
  std::abort();
}

std::vector<std::string> split_files(std::string_view input) {
  std::vector<std::string> files;
  constexpr std::string_view kSeparator = "\n===\n";
  while (files.size() < 2) {
    const size_t at = input.find(kSeparator);
    if (at == std::string_view::npos) break;
    files.emplace_back(input.substr(0, at));
    input.remove_prefix(at + kSeparator.size());
  }
  files.emplace_back(input);
  return files;
}

bool is_located(const std::string& message) {
  for (std::string_view file : {"dir/main.policy:", "dir/a.policy:", "dir/b.policy:"}) {
    if (message.rfind(file, 0) != 0) continue;
    size_t i = file.size();
    const size_t digits_start = i;
    while (i < message.size() && message[i] >= '0' && message[i] <= '9') ++i;
    return i > digits_start && message.compare(i, 2, ": ") == 0;
  }
  return false;
}

void check_well_formed(const SeccompPolicy& policy) {
  std::set<std::string> names;
  for (const SyscallRule& rule : policy.rules) {
    if (rule.name.empty() || rule.reason.empty()) fail("empty name or reason", rule.location());
    if (!names.insert(rule.name).second) fail("duplicate rule accepted", rule.name);
    for (const ComparisonClause& clause : rule.any_of) {
      if (clause.empty()) fail("empty clause", rule.location());
      std::set<unsigned> args;
      for (const ArgComparison& c : clause) {
        if (c.arg > 5) fail("argument index out of range", c.text);
        if (!args.insert(c.arg).second) fail("argument tested twice in a clause", c.text);
        if (c.op == CompareOp::kMaskedEq && (c.mask == 0 || (c.value & ~c.mask) != 0)) {
          fail("masked test that can never or always match", c.text);
        }
      }
    }
  }
}

bool same_rules(const SeccompPolicy& a, const SeccompPolicy& b) {
  if (a.rules.size() != b.rules.size()) return false;
  for (size_t i = 0; i < a.rules.size(); ++i) {
    const SyscallRule& x = a.rules[i];
    const SyscallRule& y = b.rules[i];
    if (x.name != y.name || x.reason != y.reason || x.any_of != y.any_of) return false;
    if (x.unexercised.size() != y.unexercised.size()) return false;
    for (size_t n = 0; n < x.unexercised.size(); ++n) {
      if (x.unexercised[n].clause != y.unexercised[n].clause || x.unexercised[n].reason != y.unexercised[n].reason) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string> files =
      split_files(std::string_view(reinterpret_cast<const char*>(data), size));
  IncludeReader read_include = [&files](const std::string& name) -> Result<std::string> {
    if (name == "a.policy" && files.size() > 1) return files[1];
    if (name == "b.policy" && files.size() > 2) return files[2];
    return Error("no such file");
  };
  SyscallNameCheck check_name = [](std::string_view name) -> Status {
    if (name.front() == 'x') return Error("unknown system call '" + std::string(name) + "'");
    return ok_status();
  };

  Result<SeccompPolicy> policy =
      parse_seccomp_policy(files[0], "dir/main.policy", read_include, check_name);
  if (!policy.ok()) {
    if (!is_located(policy.error().message())) {
      fail("error without FILE:LINE", policy.error().message());
    }
    return 0;
  }
  check_well_formed(*policy);
  (void)describe_seccomp_policy(*policy);
  const std::string flattened = format_seccomp_policy(*policy);
  Result<SeccompPolicy> reparsed = parse_seccomp_policy(flattened, "flat.policy", {}, check_name);
  if (!reparsed.ok()) {
    fail("flattened policy rejected", reparsed.error().message() + "\n" + flattened);
  }
  if (!same_rules(*policy, *reparsed)) fail("flattening changed the rules", flattened);
  return 0;
}
