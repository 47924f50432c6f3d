// Reading an API client's JSON request body field by field (bulwark-api; the bytes are the API
// client's, so hostile): a strict parse (no duplicate keys, bounded nesting, no exceptions) and
// a reader that types, bounds and checks each member and refuses the ones nobody asked for.
// Every error names the field as the client wrote it: "body field rate_limiter.ops.size: ...".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/command/wire_text.h"
#include "bulwark/common/result.h"

namespace bulwark::api::body {

inline constexpr size_t kMaxBodyBytes = 65536;
// The deepest body is {"rate_limiter": {"bandwidth": {"size": 1}}}: three levels.
inline constexpr size_t kMaxBodyDepth = 8;

// The body as a JSON object. Errors: "body: not valid JSON ...", "body: expected a JSON
// object", "body field a.b: duplicate field", "body: nested deeper than 8 levels".
Result<nlohmann::json> parse_object(std::string_view text);

// Untrusted text for a fault message: printable ASCII kept, anything else as \xNN, cut after
// `max_bytes` with "...". (The fault JSON escapes it again; this keeps it short and readable.)
std::string echo_text(std::string_view text, size_t max_bytes = 64);

enum class Presence : uint8_t { kOptional, kRequired };

// The members of one JSON object. Each getter leaves `out` alone when the member is absent or
// null (serde's Option, as Firecracker reads them) and fails when a required one is. Call
// only_known_fields() after the getters: any member none of them asked for is refused.
class FieldReader {
 public:
  // `object` must outlive the reader. `prefix` is "" or the parent's name with a dot.
  FieldReader(const nlohmann::json& object, std::string prefix);

  Status text(std::string_view name, Presence presence, const wire::TextRule& rule,
              std::string& out);
  Status boolean(std::string_view name, Presence presence, bool& out);
  Status integer(std::string_view name, Presence presence, uint64_t min, uint64_t max,
                 uint64_t& out);
  // A nested object: a reader over it, or nullptr when absent or null (and not required).
  Result<const nlohmann::json*> object(std::string_view name, Presence presence);
  // Whether the member is present and not null (without marking it read).
  bool has(std::string_view name) const;
  Status only_known_fields() const;

  // "rate_limiter." + name: the prefix of a nested object's reader.
  std::string child_prefix(std::string_view name) const;
  // "body field <prefix><name>: <why>".
  Error field_error(std::string_view name, const std::string& why) const;

 private:
  // The member, or nullptr when absent or null; marks it read.
  const nlohmann::json* take(std::string_view name);

  const nlohmann::json& object_;
  std::string prefix_;
  std::vector<std::string> read_;
};

}  // namespace bulwark::api::body
