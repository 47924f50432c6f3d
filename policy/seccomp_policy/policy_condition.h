// Parses the argument condition of a policy rule, the text between ':' and ' -- ':
//   condition  = clause { "||" clause }
//   clause     = comparison { "&&" comparison }
//   comparison = argN OP value | argN "&" value "==" value | "(" argN "&" value ")" "==" value
//   value      = term { "|" term }
//   term       = NUMBER | "-" NUMBER | CONSTANT_NAME | "~" term | "(" value ")"
// with OP one of == != < <= > >= and N in 0..5. Pure: no system calls.
#pragma once

#include <string_view>
#include <vector>

#include "bulwark/common/result.h"
#include "policy/seccomp_policy/seccomp_policy.h"

namespace bulwark::policy {

// Errors carry no location; the caller prefixes FILE:LINE.
Result<std::vector<ComparisonClause>> parse_condition(std::string_view text);

// Parses one value expression on its own (a number, constant or `|`/`~` combination).
Result<uint64_t> parse_value_expression(std::string_view text);

}  // namespace bulwark::policy
