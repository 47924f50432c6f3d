// Helpers for the server's error lines (internal to the backend library): every error names
// the request it is about, so a log line says what the frontend got wrong.
#pragma once

#include <cstdint>
#include <string>

#include "bulwark/common/result.h"
#include "devices/vhost_user/protocol.h"

namespace bulwark::backend::detail {

inline std::string named(const vhost_user::Message& message) { return vhost_user::request_name(message.request); }

inline std::string hex(uint64_t value) {
  static const char digits[] = "0123456789abcdef";
  std::string text;
  do {
    text.insert(text.begin(), digits[value & 0xf]);
    value >>= 4;
  } while (value != 0);
  return "0x" + text;
}

// A request that carries nothing (GET_FEATURES, SET_OWNER, ...).
inline Status expect_empty(const vhost_user::Message& message) {
  if (!message.payload.empty() || !message.fds.empty()) {
    return Error(named(message) + ": carries a payload or fds, expected none");
  }
  return ok_status();
}

}  // namespace bulwark::backend::detail
