// `bulwark policy show|diff|check`: what every Bulwark process kind may do, for auditors.
#pragma once

#include <string_view>
#include <vector>

namespace bulwark::policy_cli {

// Exit codes.
inline constexpr int kPolicyExitOk = 0;
inline constexpr int kPolicyExitError = 1;     // bad command line, unreadable or invalid files
inline constexpr int kPolicyExitFindings = 2;  // check, minimality: the policy files have findings
inline constexpr int kPolicyExitWidening = 3;  // diff: something may now do more

// `args` are the words after `bulwark policy`. Prints to stdout (results) and stderr (errors).
int run_policy_command(const std::vector<std::string_view>& args);

}  // namespace bulwark::policy_cli
