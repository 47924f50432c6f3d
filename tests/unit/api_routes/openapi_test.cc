// api/openapi.yaml against the router: the document lists every path and method bulwark-api
// serves, and bulwark-api serves nothing the document does not list. The document's `paths:`
// section is read line by line (its formatting is ours: a path at two spaces of indent, its
// methods at four).
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <utility>

#include "api/routes/route_table.h"
#include "api/routes/router.h"
#include "route_test_util.h"

namespace bulwark::api {
namespace {

using MethodAndPath = std::pair<std::string, std::string>;

std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

std::set<MethodAndPath> documented_routes() {
  std::ifstream file(BULWARK_OPENAPI_YAML);
  EXPECT_TRUE(file) << "cannot open " << BULWARK_OPENAPI_YAML;
  const std::regex path_line(R"(^  (/[^:\s]*):\s*$)");
  const std::regex method_line(R"(^    (get|put|patch|post|delete|head|options|trace):\s*$)");
  std::set<MethodAndPath> out;
  bool in_paths = false;
  std::string path;
  for (std::string line; std::getline(file, line);) {
    if (line == "paths:") {
      in_paths = true;
      continue;
    }
    if (!line.empty() && line[0] != ' ' && line[0] != '#') in_paths = false;
    if (!in_paths) continue;
    std::smatch match;
    if (std::regex_match(line, match, path_line)) {
      path = match[1];
    } else if (std::regex_match(line, match, method_line)) {
      EXPECT_FALSE(path.empty()) << "method before any path: " << line;
      out.emplace(upper(match[1]), path);
    }
  }
  return out;
}

// "/drives/{drive_id}" with a real id in place of the parameter.
std::string concrete(std::string path) {
  const size_t brace = path.find('{');
  if (brace != std::string::npos) path = path.substr(0, brace) + "eth0";
  return path;
}

uint16_t status_of(const std::string& method, const std::string& path) {
  const bool has_body = method != "GET" && method != "HEAD";
  const Routed routed = route(test::request(method, path, has_body ? "{}" : "", ""));
  return routed.response ? routed.response->status : 0;  // 0: a command for the launcher
}

TEST(ApiRoutesOpenApi, DocumentIsOpenApi3) {
  std::ifstream file(BULWARK_OPENAPI_YAML);
  std::string first;
  std::getline(file, first);
  EXPECT_EQ(first.rfind("openapi: 3.0", 0), 0u) << first;
}

TEST(ApiRoutesOpenApi, DocumentListsExactlyTheServedRoutes) {
  std::set<MethodAndPath> served;
  for (const ServedRoute& r : served_routes()) served.emplace(r.method, r.path);
  const std::set<MethodAndPath> documented = documented_routes();
  ASSERT_FALSE(documented.empty());
  for (const auto& [method, path] : served)
    EXPECT_TRUE(documented.count({method, path})) << method << " " << path << " is not documented";
  for (const auto& [method, path] : documented)
    EXPECT_TRUE(served.count({method, path})) << method << " " << path << " is not served";
}

TEST(ApiRoutesOpenApi, EveryDocumentedRouteIsRouted) {
  for (const auto& [method, path] : documented_routes()) {
    const uint16_t status = status_of(method, concrete(path));
    EXPECT_NE(status, 404) << method << " " << path;
    EXPECT_NE(status, 405) << method << " " << path;
  }
}

// Without trusting served_routes(): every method on every documented path, and Firecracker's
// paths Bulwark does not serve, are refused unless the document lists them.
TEST(ApiRoutesOpenApi, NothingUndocumentedIsServed) {
  const std::set<MethodAndPath> documented = documented_routes();
  std::set<std::string> paths{"/balloon",       "/balloon/statistics", "/cpu-config",
                              "/mmds",          "/mmds/config",        "/snapshot/create",
                              "/snapshot/load", "/vsock",              "/serial",
                              "/hotplug/memory", "/pmem/{id}",         "/drives",
                              "/network-interfaces", "/vm/state",      "/version/x"};
  for (const auto& [method, path] : documented) paths.insert(path);
  for (const std::string& path : paths) {
    for (const char* method : {"GET", "PUT", "PATCH", "POST", "DELETE", "HEAD", "OPTIONS"}) {
      const uint16_t status = status_of(method, concrete(path));
      if (status == 404 || status == 405) continue;
      EXPECT_TRUE(documented.count({method, path}))
          << method << " " << path << " answered " << status << " but is not documented";
    }
  }
}

}  // namespace
}  // namespace bulwark::api
