// The launcher's answers to bulwark-api (api/command/command.h Reply), built the same way by
// every part of jailer/api: a fault's text, a JSON body the launcher writes itself, no body.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "api/command/command.h"

namespace bulwark::jail {

inline api::Reply fault_reply(uint16_t status, const std::string& message) {
  return {status, api::Reply::Body::kFault, message};
}
inline api::Reply json_reply(const nlohmann::ordered_json& body) {
  return {200, api::Reply::Body::kJson, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}
inline api::Reply no_content_reply() { return {204, api::Reply::Body::kNone, ""}; }

}  // namespace bulwark::jail
