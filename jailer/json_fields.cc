#include "jailer/json_fields.h"

#include "monitor/config/strict_json.h"
#include "monitor/config/vm_config.h"

namespace bulwark::jail {

using nlohmann::json;

Status read_json_integer(const json& value, uint64_t min, uint64_t max, uint64_t* out) {
  const auto* number = value.get_ptr<const json::number_unsigned_t*>();
  if (number != nullptr && *number >= min && *number <= max) {
    *out = *number;
    return ok_status();
  }
  return Error(config::expected_integer_text(min, max) + ", got " +
               config::describe_json_value(value));
}

Status read_json_string(const json& value, Status (*rule)(std::string_view), std::string* out) {
  const auto* text = value.get_ptr<const json::string_t*>();
  if (text == nullptr) return Error("expected a string, got " + config::describe_json_value(value));
  if (rule != nullptr) BULWARK_TRY(rule(*text));
  *out = *text;
  return ok_status();
}

Status read_json_bool(const json& value, bool* out) {
  const auto* flag = value.get_ptr<const json::boolean_t*>();
  if (flag == nullptr) {
    return Error("expected true or false, got " + config::describe_json_value(value));
  }
  *out = *flag;
  return ok_status();
}

Status read_json_range(const json& value, uint64_t min, uint64_t max, uint64_t* first,
                       uint64_t* last, const std::string& path) {
  const auto* items = value.get_ptr<const json::array_t*>();
  if (items == nullptr || items->size() != 2) {
    return Error(path + ": expected [first, last], got " + config::describe_json_value(value));
  }
  if (Status s = read_json_integer((*items)[0], min, max, first); !s.ok()) {
    return s.error().wrap(path + "/0");
  }
  if (Status s = read_json_integer((*items)[1], min, max, last); !s.ok()) {
    return s.error().wrap(path + "/1");
  }
  if (*first > *last) return Error(path + ": first is larger than last");
  return ok_status();
}

bool is_plain_component(std::string_view part) {
  if (part.empty() || part.size() > 255 || part == "." || part == "..") return false;
  for (char c : part) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace bulwark::jail
