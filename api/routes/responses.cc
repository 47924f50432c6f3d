// The HTTP answers bulwark-api sends its API client: the launcher's replies (already decoded
// from the command channel) and bulwark-api's own faults, in Firecracker's shapes.
#include <nlohmann/json.hpp>

#include "api/routes/router.h"

namespace bulwark::api {

HttpResponse fault_response(uint16_t status, std::string_view message) {
  nlohmann::json body = nlohmann::json::object();
  body["fault_message"] = std::string(message);
  // Invalid UTF-8 in the message (it may quote the client's bytes) becomes U+FFFD instead of
  // throwing: dump's default error handler would.
  return HttpResponse{status, "application/json",
                      body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

HttpResponse response_for(const Reply& reply) {
  switch (reply.body_kind) {
    case Reply::Body::kJson:
      return HttpResponse{reply.status, "application/json", reply.body};
    case Reply::Body::kPrometheus:
      return HttpResponse{reply.status, "text/plain; version=0.0.4", reply.body};
    case Reply::Body::kFault:
      return fault_response(reply.status, reply.body);
    case Reply::Body::kNone:
      break;
  }
  return HttpResponse{reply.status, "", ""};
}

}  // namespace bulwark::api
