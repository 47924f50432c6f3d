// JSON answers from bulwark-api (GET /, GET /policy, faults) for `bulwark vm`: the API process
// may be compromised, so parsing is exception-free and nesting is bounded (nlohmann's dump and
// destructor recurse; a 4 MiB body of '[' must not overflow the stack of a root-run tool).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "bulwark/common/result.h"

namespace bulwark::vm_cli {

inline constexpr size_t kMaxResponseJsonDepth = 64;

// Errors: "invalid JSON: ...", "JSON nested deeper than 64 levels".
Result<nlohmann::json> parse_response_json(std::string_view text);

// The value pretty-printed for a terminal or a script: two-space indent, non-ASCII as \uXXXX,
// so no byte the API chose reaches the terminal raw. Ends with a newline.
std::string dump_response_json(const nlohmann::json& value);

// The "fault_message" of a Firecracker fault body ({"fault_message": "..."}), if it has one.
std::string fault_message_of(std::string_view body);

}  // namespace bulwark::vm_cli
