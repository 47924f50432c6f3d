// Bounded, exception-free JSON parsing of bulwark-api's answers (hostile bytes; see the header).
#include "jailer/vm_cli/response_json.h"

namespace bulwark::vm_cli {

Result<nlohmann::json> parse_response_json(std::string_view text) {
  bool too_deep = false;
  // The callback sees each container as it opens; a too-deep one is dropped whole (so nothing
  // deep is ever built) and the parse is refused at the end.
  auto limit_depth = [&too_deep](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
    if ((event == nlohmann::json::parse_event_t::object_start ||
         event == nlohmann::json::parse_event_t::array_start) &&
        depth >= static_cast<int>(kMaxResponseJsonDepth)) {
      too_deep = true;
      return false;
    }
    return true;
  };
  nlohmann::json value = nlohmann::json::parse(text.begin(), text.end(), limit_depth,
                                               /*allow_exceptions=*/false);
  if (too_deep) {
    return Error("JSON nested deeper than " + std::to_string(kMaxResponseJsonDepth) + " levels");
  }
  if (value.is_discarded()) return Error("invalid JSON");
  return value;
}

std::string dump_response_json(const nlohmann::json& value) {
  return value.dump(2, ' ', /*ensure_ascii=*/true, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string fault_message_of(std::string_view body) {
  auto parsed = parse_response_json(body);
  if (!parsed.ok() || !parsed->is_object()) return "";
  auto it = parsed->find("fault_message");
  if (it == parsed->end() || !it->is_string()) return "";
  return it->get<std::string>();
}

}  // namespace bulwark::vm_cli
