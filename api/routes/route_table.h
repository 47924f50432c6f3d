// The paths and methods bulwark-api serves (router.cc dispatches from this very table), for
// tests and tools that must agree with it: tests/unit/api_routes checks api/openapi.yaml lists
// exactly these. Input: none (a constant).
#pragma once

#include <span>
#include <string_view>

namespace bulwark::api {

struct ServedRoute {
  std::string_view method;  // "GET", "PUT", "PATCH"
  std::string_view path;    // as in api/openapi.yaml: "/drives/{drive_id}"
};

std::span<const ServedRoute> served_routes();

}  // namespace bulwark::api
