// `bulwark policy check`: lints a directory of seccomp policy files and reports every problem
// with FILE:LINE, not only the first one the parser would stop at.
#pragma once

#include <string>
#include <vector>

#include "bulwark/common/result.h"

namespace bulwark::policy_cli {

// Kinds of findings, as printed in brackets.
inline constexpr const char* kFindingUnknownSyscall = "unknown-syscall";
inline constexpr const char* kFindingMalformed = "malformed";
inline constexpr const char* kFindingMissingReason = "missing-reason";
inline constexpr const char* kFindingDuplicate = "duplicate";
inline constexpr const char* kFindingAlreadyInCommon = "already-in-common";
inline constexpr const char* kFindingUnconditional = "unconditional-elsewhere-conditional";
inline constexpr const char* kFindingIncludeCycle = "include-cycle";
inline constexpr const char* kFindingMissingInclude = "missing-include";

struct Finding {
  std::string location;  // FILE:LINE
  std::string kind;
  std::string message;
};

struct CheckReport {
  std::vector<Finding> findings;
  std::vector<std::string> notes;  // facts worth knowing that are not defects
  size_t files = 0;
  size_t rules = 0;
};

// Error only when the directory cannot be listed.
Result<CheckReport> check_policy_dir(const std::string& seccomp_dir);

// "FILE:LINE: [kind] message" lines, then notes, then a summary line.
std::string render_check_report(const CheckReport& report);

}  // namespace bulwark::policy_cli
