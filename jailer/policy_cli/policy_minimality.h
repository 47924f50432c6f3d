// `bulwark policy minimality --usage FILE`: compares what the recorded runs made (`bulwark policy
// record`) with what each process policy allows. Every rule, and every `||` alternative of a
// rule, that no recorded run used must carry an `@unexercised` reason in its policy file, and
// a call no rule allows is a defect. A reason on something the runs did use is reported as a
// note, not a finding: some calls are made only in some runs (a lock that happened to be
// contended), so its reason may still be right.
#pragma once

#include <string>
#include <vector>

#include "bulwark/common/result.h"
#include "jailer/policy_cli/policy_check.h"
#include "jailer/policy_cli/syscall_usage.h"

namespace bulwark::policy_cli {

inline constexpr const char* kFindingUnexercised = "unexercised-without-reason";
inline constexpr const char* kFindingOutsidePolicy = "not-allowed";
inline constexpr const char* kFindingNotRecorded = "not-recorded";

struct PolicyMinimality {
  std::string policy_file;      // "monitor-vcpu.policy"
  size_t allowed_syscalls = 0;  // rules
  size_t used_syscalls = 0;     // rules with at least one used alternative
  size_t alternatives = 0;      // slots
  size_t used_alternatives = 0;
  uint64_t calls = 0;
  std::vector<std::string> never_used;  // one line each: what, where, and its reason if written
};

struct MinimalityReport {
  std::vector<PolicyMinimality> policies;
  std::vector<Finding> findings;
  std::vector<std::string> notes;  // "FILE:LINE: ..." for @unexercised reasons on calls that were made
};

// Error when a policy file cannot be loaded or `usage` was recorded with other policy files
// (a slot's system call differs from the rule's).
Result<MinimalityReport> check_minimality(const std::string& seccomp_dir, const SyscallUsage& usage);

std::string render_minimality_report(const MinimalityReport& report);

}  // namespace bulwark::policy_cli
