// Typed reads of one JSON value for the launcher's two config files (the operator's host config
// and the tenant's VM config). Messages name no field: callers wrap them with the JSON pointer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "bulwark/common/result.h"

namespace bulwark::jail {

// An unsigned integer in [min, max].
Status read_json_integer(const nlohmann::json& value, uint64_t min, uint64_t max, uint64_t* out);
// A string, checked by `rule` when one is given.
Status read_json_string(const nlohmann::json& value, Status (*rule)(std::string_view),
                        std::string* out);
Status read_json_bool(const nlohmann::json& value, bool* out);
// [first, last] with min <= first <= last <= max.
Status read_json_range(const nlohmann::json& value, uint64_t min, uint64_t max, uint64_t* first,
                       uint64_t* last, const std::string& path);

// [A-Za-z0-9_.-], not "." or "..", 1..255 bytes: one path component that goes nowhere else.
bool is_plain_component(std::string_view part);

}  // namespace bulwark::jail
