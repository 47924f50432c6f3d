// Reads a seccomp policy file and the files it @includes from disk.
#pragma once

#include <string>

#include "bulwark/common/result.h"
#include "policy/seccomp_policy/seccomp_policy.h"

namespace bulwark::policy {

inline constexpr size_t kMaxPolicyFileBytes = 1 << 20;

// Parses `path` and resolves @include names in the directory that `path` names. Included
// files must be regular files in that directory itself (symbolic links are refused, so an
// include cannot lead out of it); every file is at most kMaxPolicyFileBytes. System call
// names are checked against the x86-64 table, so an unknown name fails here, at its line.
Result<SeccompPolicy> load_seccomp_policy_file(const std::string& path);

// The policy a process installs: <dir>/<file>, and in sanitizer builds (ASan/UBSan runtimes
// make calls of their own) the rules of <dir>/sanitizer-runtime.policy replacing the file's
// rules for the same calls. Errors start with "seccomp policy: ".
Result<SeccompPolicy> load_process_policy(const std::string& dir, const std::string& file);

}  // namespace bulwark::policy
