// Helpers for the router tests: one request through route(), and what came out.
#pragma once

#include <string>
#include <variant>

#include <gtest/gtest.h>

#include "api/routes/router.h"

namespace bulwark::api::test {

inline HttpRequest request(std::string method, std::string path, std::string body = "",
                           std::string content_type = "") {
  HttpRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  return r;
}

// The command of type T route() made of the request; fails the test (and returns T{}) otherwise.
template <typename T>
T routed_command(const HttpRequest& r) {
  const Routed routed = route(r);
  if (routed.response) {
    ADD_FAILURE() << r.method << " " << r.path << " answered " << routed.response->status << " "
                  << routed.response->body;
    return T{};
  }
  if (!routed.command || !std::holds_alternative<T>(*routed.command)) {
    ADD_FAILURE() << r.method << " " << r.path << " made "
                  << (routed.command ? command_name(*routed.command) : "nothing");
    return T{};
  }
  return std::get<T>(*routed.command);
}

}  // namespace bulwark::api::test
