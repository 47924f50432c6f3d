// "0x1f"-style hex for messages that name addresses, ports and field values.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace bulwark {

inline std::string hex(uint64_t value) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(value));
  return buf;
}

}  // namespace bulwark
