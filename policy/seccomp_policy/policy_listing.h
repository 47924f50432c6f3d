// Text renderings of a parsed policy, for audits and tooling.
#pragma once

#include <string>

#include "policy/seccomp_policy/seccomp_policy.h"

namespace bulwark::policy {

// One `||` alternative as written in the policy: its comparisons joined by " && ".
std::string written_alternative(const ComparisonClause& clause);

// A human-readable listing: every allowed system call, its conditions as written and with
// their numeric values, its reason and the FILE:LINE it comes from.
std::string describe_seccomp_policy(const SeccompPolicy& policy);

// The policy as one policy file with includes expanded: parsing it again gives the same
// rules (names, conditions, reasons); only file names and line numbers differ.
std::string format_seccomp_policy(const SeccompPolicy& policy);

}  // namespace bulwark::policy
