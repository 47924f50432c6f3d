// A seccomp policy as JSON for `bulwark policy show`: every rule with its conditions as written
// and as numbers, its reason and the FILE:LINE it comes from.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "policy/seccomp_policy/seccomp_policy.h"

namespace bulwark::policy_cli {

// "(arg2 & 0x4) == 0x0" / "arg1 == 0xae80": what the filter compares.
std::string numeric_comparison(const policy::ArgComparison& comparison);

nlohmann::json seccomp_rule_json(const policy::SyscallRule& rule);

// {"policy_file", "status": "loaded" | "missing" | "invalid", "error", "files", "syscall_count",
//  "rules": [...]}
nlohmann::json seccomp_policy_json(const std::string& seccomp_dir, const std::string& file_name);

}  // namespace bulwark::policy_cli
