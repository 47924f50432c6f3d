// `bulwark vm policy` without --json: bulwark-api's GET /policy document as an indented outline
// for the operator to read. Every key and string is passed through terminal_text (the API
// process may be compromised); nesting is already bounded by parse_response_json.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace bulwark::vm_cli {

// Objects as "key: value" lines, nested ones indented by two spaces under "key:"; arrays of
// scalars on one line joined by ", "; other arrays as "- " items. Ends with a newline.
std::string render_json_summary(const nlohmann::json& value);

}  // namespace bulwark::vm_cli
