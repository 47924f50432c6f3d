// route() (api/routes) on an API client's request: byte 0 picks the method and path from the
// table below (every served route plus near misses), byte 1 the Content-Type, the rest is the
// body. Whatever comes out must be exactly one of a command or an answer; a command must be one
// the launcher's decode_command accepts and gets back unchanged (route() must never hand the
// launcher something the wire refuses); an answer must carry a well-formed body.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/command/command.h"
#include "api/routes/router.h"

namespace {

struct Target {
  const char* method;
  const char* path;
};

// Served routes first, with ids at their limits, then refusals the router must also survive.
constexpr Target kTargets[] = {
    {"GET", "/"},
    {"GET", "/version"},
    {"PUT", "/boot-source"},
    {"GET", "/machine-config"},
    {"PUT", "/machine-config"},
    {"PUT", "/drives/rootfs"},
    {"PATCH", "/drives/rootfs"},
    {"PUT", "/drives/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
    {"PUT", "/network-interfaces/eth0"},
    {"PATCH", "/network-interfaces/eth0"},
    {"PUT", "/network-interfaces/abcdefghijklmno"},
    {"PUT", "/entropy"},
    {"PUT", "/actions"},
    {"GET", "/vm/config"},
    {"PATCH", "/vm"},
    {"PUT", "/logger"},
    {"PUT", "/metrics"},
    {"GET", "/metrics"},
    {"GET", "/policy"},
    {"PUT", "/drives/a"},
    {"PATCH", "/network-interfaces/n"},
    {"PUT", "/drives/bad.id"},
    {"PUT", "/drives/"},
    {"PUT", "/network-interfaces/abcdefghijklmnop"},
    {"DELETE", "/drives/rootfs"},
    {"POST", "/actions"},
    {"PATCH", "/machine-config"},
    {"PUT", "/snapshot/create"},
    {"GET", "/vm/config/"},
    {"put", "/actions"},
    // Appended (existing seeds' byte 0 keeps its route): PUT /vsock and PUT /tpm.
    {"PUT", "/vsock"},
    {"PUT", "/tpm"},
};

constexpr const char* kContentTypes[] = {"", "application/json", "application/json; charset=utf-8",
                                         "application/x-www-form-urlencoded", "text/plain"};

void check_command(const bulwark::api::Command& command) {
  using namespace bulwark::api;
  const std::vector<uint8_t> wire = encode_command(command);
  if (wire.size() > kMaxMessageBytes) std::abort();
  auto decoded = decode_command(std::span<const uint8_t>(wire));
  if (!decoded.ok() || !(*decoded == command)) std::abort();
}

void check_response(const bulwark::api::HttpResponse& response) {
  if (response.status != 200 && response.status != 400 && response.status != 404 &&
      response.status != 405)
    std::abort();
  if (response.content_type != "application/json") std::abort();
  const auto body = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object()) std::abort();
  if (response.status != 200 && (body.size() != 1 || !body.contains("fault_message"))) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bulwark::api;
  if (size < 2) return 0;
  const Target& target = kTargets[data[0] % std::size(kTargets)];
  HttpRequest request;
  request.method = target.method;
  request.path = target.path;
  request.content_type = kContentTypes[data[1] % std::size(kContentTypes)];
  request.body.assign(reinterpret_cast<const char*>(data + 2), size - 2);

  const Routed routed = route(request);
  if (routed.command.has_value() == routed.response.has_value()) std::abort();
  if (routed.command) check_command(*routed.command);
  if (routed.response) check_response(*routed.response);
  return 0;
}
