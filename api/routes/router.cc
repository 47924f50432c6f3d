// Firecracker's paths and methods to commands (the API client's requests, in the jailed
// bulwark-api). One table says what is served; a path it does not list is a 404, a method it
// does not list for a listed path a 405, and every refusal names the request and the field.
#include "api/routes/router.h"

#include <algorithm>
#include <array>
#include <cctype>

#include <nlohmann/json.hpp>

#include "api/command/wire_text.h"
#include "api/routes/bodies.h"
#include "api/routes/json_body.h"
#include "api/routes/route_table.h"

namespace bulwark::api {

const char* bulwark_version() { return "0.1.0"; }

namespace {

using nlohmann::json;

// What a handler gets: the path's {id} (checked) and the body (an object; empty for GET).
struct Request {
  std::string_view id;
  const json& body;
};
using Handler = Result<Routed> (*)(const Request&);

struct Route {
  std::string_view method;
  std::string_view path;             // "/drives/{drive_id}": a {name} only as the last segment
  const wire::TextRule* id_rule;     // the rule of the {id} segment; nullptr when there is none
  Handler handler;
};

template <typename T>
Result<Routed> to_command(Result<T> parsed) {
  if (!parsed.ok()) return parsed.error();
  return Routed{Command(std::move(*parsed)), std::nullopt};
}
template <typename T>
Result<Routed> fixed(const Request&) {
  return Routed{Command(T{}), std::nullopt};
}

Result<Routed> version(const Request&) {
  json body = {{"firecracker_version", bulwark_version()},
               {"bulwark_version", bulwark_version()}};
  return Routed{std::nullopt, HttpResponse{200, "application/json", body.dump()}};
}

constexpr std::array kRoutes{
    Route{"GET", "/", nullptr, &fixed<GetInstanceInfo>},
    Route{"GET", "/version", nullptr, &version},
    Route{"PUT", "/boot-source", nullptr,
          [](const Request& r) { return to_command(body::put_boot_source(r.body)); }},
    Route{"GET", "/machine-config", nullptr, &fixed<GetMachineConfig>},
    Route{"PUT", "/machine-config", nullptr,
          [](const Request& r) { return to_command(body::put_machine_config(r.body)); }},
    Route{"PUT", "/drives/{drive_id}", &wire::kIdRule,
          [](const Request& r) { return to_command(body::put_drive(r.id, r.body)); }},
    Route{"PATCH", "/drives/{drive_id}", &wire::kIdRule,
          [](const Request& r) { return to_command(body::patch_drive(r.id, r.body)); }},
    Route{"PUT", "/network-interfaces/{iface_id}", &wire::kIfaceIdRule,
          [](const Request& r) { return to_command(body::put_network_interface(r.id, r.body)); }},
    Route{"PATCH", "/network-interfaces/{iface_id}", &wire::kIfaceIdRule,
          [](const Request& r) {
            return to_command(body::patch_network_interface(r.id, r.body));
          }},
    Route{"PUT", "/entropy", nullptr,
          [](const Request& r) { return to_command(body::put_entropy(r.body)); }},
    Route{"PUT", "/actions", nullptr,
          [](const Request& r) { return to_command(body::put_action(r.body)); }},
    Route{"GET", "/vm/config", nullptr, &fixed<GetVmConfig>},
    Route{"PATCH", "/vm", nullptr,
          [](const Request& r) { return to_command(body::patch_vm(r.body)); }},
    Route{"PUT", "/logger", nullptr,
          [](const Request& r) { return to_command(body::put_logger(r.body)); }},
    Route{"PUT", "/metrics", nullptr,
          [](const Request& r) { return to_command(body::put_metrics(r.body)); }},
    Route{"GET", "/metrics", nullptr, &fixed<GetMetrics>},
    Route{"GET", "/policy", nullptr, &fixed<GetPolicy>},
    Route{"GET", "/attestation", nullptr, &fixed<GetAttestation>},
    Route{"PUT", "/vsock", nullptr,
          [](const Request& r) { return to_command(body::put_vsock(r.body)); }},
    Route{"PUT", "/tpm", nullptr,
          [](const Request& r) { return to_command(body::put_tpm(r.body)); }},
};

constexpr auto kServedRoutes = [] {
  std::array<ServedRoute, kRoutes.size()> out{};
  for (size_t i = 0; i < kRoutes.size(); ++i) out[i] = {kRoutes[i].method, kRoutes[i].path};
  return out;
}();

// Whether `path` is `route`'s path; `id` gets the {name} segment's text when it has one.
bool path_matches(const Route& route, std::string_view path, std::string_view& id) {
  const size_t brace = route.path.find('{');
  if (brace == std::string_view::npos) return path == route.path;
  const std::string_view prefix = route.path.substr(0, brace);
  if (path.size() <= prefix.size() || path.substr(0, prefix.size()) != prefix) return false;
  id = path.substr(prefix.size());
  return id.find('/') == std::string_view::npos;
}

// Absent is accepted (Firecracker's own examples send none). So is what `curl --data` sends by
// default, because Firecracker's getting-started guide sends its JSON bodies exactly that way.
bool acceptable_content_type(std::string_view value) {
  std::string media_type;
  for (char c : value.substr(0, value.find(';')))
    if (c != ' ' && c != '\t') media_type += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return media_type.empty() || media_type == "application/json" ||
         media_type == "application/x-www-form-urlencoded";
}

std::string request_name(const HttpRequest& request) {
  return body::echo_text(request.method, 16) + " " + body::echo_text(request.path, 128);
}

Routed refuse(uint16_t status, const HttpRequest& request, const std::string& why) {
  return Routed{std::nullopt, fault_response(status, request_name(request) + ": " + why)};
}

Result<Routed> dispatch(const Route& route, std::string_view id, const HttpRequest& request) {
  if (route.id_rule != nullptr) {
    if (auto problem = wire::text_problem(id, *route.id_rule)) {
      const std::string_view name =
          route.path.substr(route.path.find('{') + 1, route.path.size() - route.path.find('{') - 2);
      return Error("path " + std::string(name) + ": expected " +
                   std::to_string(route.id_rule->min_bytes) + " to " +
                   std::to_string(route.id_rule->max_bytes) +
                   " characters from A-Z a-z 0-9 _ - (" + *problem + ")");
    }
  }
  if (route.method == "GET") {
    if (!request.body.empty()) return Error("body: not expected (GET takes none)");
    const json empty = json::object();
    return route.handler(Request{id, empty});
  }
  if (!acceptable_content_type(request.content_type))
    return Error("Content-Type: expected application/json, got \"" +
                 body::echo_text(request.content_type) + "\"");
  if (request.body.empty()) return Error("body: required (a JSON object)");
  auto parsed = body::parse_object(request.body);
  if (!parsed.ok()) return parsed.error();
  return route.handler(Request{id, *parsed});
}

}  // namespace

std::span<const ServedRoute> served_routes() { return kServedRoutes; }

Routed route(const HttpRequest& request) {
  std::string allowed;
  for (const Route& candidate : kRoutes) {
    std::string_view id;
    if (!path_matches(candidate, request.path, id)) continue;
    if (candidate.method != request.method) {
      if (!allowed.empty()) allowed += ", ";
      allowed += candidate.method;
      continue;
    }
    auto routed = dispatch(candidate, id, request);
    if (!routed.ok()) return refuse(400, request, routed.error().message());
    return std::move(*routed);
  }
  if (allowed.empty()) return refuse(404, request, "no such path");
  return refuse(405, request, "method not allowed (allowed: " + allowed + ")");
}

}  // namespace bulwark::api
