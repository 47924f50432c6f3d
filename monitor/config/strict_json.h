// Parsing untrusted JSON text with nlohmann::json, exception-free, and refusing what nlohmann
// would otherwise accept silently: duplicate object keys (it keeps the last one, so a reviewer
// and the monitor could read different values) and deep nesting.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "bulwark/common/result.h"

namespace bulwark::config {

inline constexpr size_t kMaxJsonBytes = 1 << 20;
inline constexpr size_t kMaxJsonDepth = 32;

// Errors: "invalid JSON: parse error at line 2, column 9: ...", "/serial/kind: duplicate field",
// "/a/0/b: nested deeper than 32 levels", "larger than 1048576 bytes".
Result<nlohmann::json> parse_strict_json(std::string_view text);

// "line 2, column 7" (both from 1) for the byte at `offset` in `text`.
std::string line_and_column_of(std::string_view text, size_t offset);

// The JSON pointer of member `key` of the value at `parent` ("" is the root): "~" and "/" are
// escaped as RFC 6901 says, and the key is made safe to print (message_text.h).
std::string json_pointer_child(std::string_view parent, std::string_view key);
std::string json_pointer_child(std::string_view parent, size_t index);

// What the tenant wrote instead, for "expected ..., got X" messages: scalars as written
// (strings quoted and made safe to print), containers only by kind (they can be big).
std::string describe_json_value(const nlohmann::json& value);

}  // namespace bulwark::config
