// Where a tree of policy files lives and which seccomp policy each process kind runs under.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bulwark/common/result.h"
#include "policy/seccomp_policy/seccomp_policy.h"

namespace bulwark::policy_cli {

// One process kind, or one thread kind inside a process, that runs under its own policy.
struct PolicyKind {
  const char* id;           // "monitor-vcpu"
  const char* title;        // "bulwark-monitor, vCPU threads"
  const char* policy_file;  // "monitor-vcpu.policy"; nullptr when the process is not filtered
};

// launcher, monitor-main, monitor-vcpu, dev-blk, dev-rng, dev-net, api, in that order.
const std::vector<PolicyKind>& policy_kinds();

// Files added to other policies only in test builds (never a process's own policy): linted on
// their own, not compared with the rest.
bool is_test_build_overlay(const std::string& file_name);

struct PolicyTree {
  std::string seccomp_dir;
  std::optional<std::string> selinux_dir;  // only when it exists
};

// DIR holding seccomp/ (and maybe selinux/), or a seccomp policy directory itself.
Result<PolicyTree> locate_policy_tree(const std::string& dir);

// The *.policy file names in `dir`, sorted.
Result<std::vector<std::string>> list_policy_files(const std::string& dir);
// The *.te file names in `dir`, sorted; empty when the directory does not exist.
std::vector<std::string> list_te_files(const std::string& dir);

bool is_regular_file(const std::string& path);
Result<std::string> read_text_file(const std::string& path);

// A policy file of a kind, as found in a tree.
struct LoadedPolicy {
  bool present = false;
  std::optional<policy::SeccompPolicy> policy;  // set when present and valid
  std::string error;                            // set when present and invalid
};
LoadedPolicy load_policy(const std::string& seccomp_dir, const std::string& file_name);

}  // namespace bulwark::policy_cli
