// `bulwark policy diff OLD NEW`: what changed between two trees of policy files, per process
// kind and thread, with every change that lets a process do more flagged as a widening.
#pragma once

#include <string>
#include <vector>

#include "bulwark/common/result.h"
#include "policy/seccomp_policy/seccomp_policy.h"

namespace bulwark::policy_cli {

struct DiffReport {
  std::vector<std::string> lines;  // widenings start with "WIDENING: "
  bool changed = false;
  bool widening = false;
};

// Compares the effective rules (includes expanded) of one policy in two versions; `label`
// heads the lines, e.g. "monitor-vcpu (monitor-vcpu.policy)".
void diff_seccomp_policies(const std::string& label, const policy::SeccompPolicy& old_policy,
                           const policy::SeccompPolicy& new_policy, DiffReport& report);

// Each directory holds seccomp/*.policy and optionally selinux/*.te, or is a seccomp policy
// directory itself. Error when a directory or a policy file in it cannot be read or parsed.
Result<DiffReport> diff_policy_trees(const std::string& old_dir, const std::string& new_dir);

}  // namespace bulwark::policy_cli
