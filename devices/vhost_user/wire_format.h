// Little-endian field access shared by the parsers and builders (internal to this library).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "bulwark/common/byte_reader.h"
#include "devices/vhost_user/protocol.h"

namespace bulwark::vhost_user::wire {

// Payload sizes on the wire.
inline constexpr size_t kU64Size = 8;
inline constexpr size_t kVringStateSize = 8;
inline constexpr size_t kVringAddressSize = 40;
inline constexpr size_t kMemoryTableHeader = 8;  // u32 count, u32 padding
inline constexpr size_t kMemoryRegionSize = 32;
inline constexpr size_t kConfigHeader = 12;      // offset, size, flags

// A field of a payload whose size the caller already checked.
template <typename T>
T field(const std::vector<uint8_t>& bytes, size_t offset) {
  return *read_le<T>(std::span<const uint8_t>(bytes), offset);
}

template <typename T>
void append(std::vector<uint8_t>& bytes, T value) {
  for (size_t i = 0; i < sizeof(T); ++i) bytes.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

inline std::string named(const Message& message) { return request_name(message.request); }

// The exact payload size a request carries; errors name the request.
inline Status expect_size(const Message& message, size_t size) {
  if (message.payload.size() != size) {
    return Error(named(message) + ": payload of " + std::to_string(message.payload.size()) +
                 " bytes, expected " + std::to_string(size));
  }
  return ok_status();
}

// The exact number of fds a request carries: an extra fd is as wrong as a missing one.
inline Status expect_fds(const Message& message, size_t count) {
  if (message.fds.size() != count) {
    return Error(named(message) + ": carries " + std::to_string(message.fds.size()) + " fds, expected " +
                 std::to_string(count));
  }
  return ok_status();
}

// A payload that starts with a fixed header (memory table, config) must hold at least that.
inline Status expect_header(const Message& message, size_t header) {
  if (message.payload.size() < header) {
    return Error(named(message) + ": payload of " + std::to_string(message.payload.size()) +
                 " bytes is shorter than its header");
  }
  return ok_status();
}

}  // namespace bulwark::vhost_user::wire
