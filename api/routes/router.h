// Firecracker's API paths and JSON bodies (its firecracker.yaml; api/openapi.yaml is ours) to
// typed commands (api/command/command.h), in bulwark-api. Every body is parsed with nlohmann-json
// and checked field by field: unknown fields, wrong types, out-of-range numbers, ids that do not
// match the path and oversized strings are a 400 with a fault message naming the field, as
// Firecracker does. Nothing here does I/O: the server sends `command` to the launcher and answers
// with `response_for(reply)`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/command/command.h"
#include "api/http/http_request.h"

namespace bulwark::api {

struct HttpResponse {
  uint16_t status = 204;
  std::string content_type;  // "" when there is no body
  std::string body;
};

// Either a command for the launcher, or an answer bulwark-api gives without one (a refusal, or
// GET /version). Exactly one of the two is set.
struct Routed {
  std::optional<Command> command;
  std::optional<HttpResponse> response;
};

Routed route(const HttpRequest& request);

// The HTTP answer to a launcher reply (a fault becomes {"fault_message": "..."}).
HttpResponse response_for(const Reply& reply);
// {"fault_message": message} with `status`.
HttpResponse fault_response(uint16_t status, std::string_view message);

// Bulwark's version string, for GET /version and GET /.
const char* bulwark_version();

}  // namespace bulwark::api
