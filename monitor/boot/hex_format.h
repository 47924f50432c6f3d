// Formatting helpers for boot-image error messages: every rejected field is named with its
// value, so an operator can see exactly why a tenant's kernel was refused.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "bulwark/common/hex.h"

namespace bulwark::boot {

using bulwark::hex;

// Boot protocol version 0x020f -> "2.15".
inline std::string protocol_version(uint16_t version) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%u.%02u", static_cast<unsigned>(version >> 8),
                static_cast<unsigned>(version & 0xff));
  return buf;
}

}  // namespace bulwark::boot
