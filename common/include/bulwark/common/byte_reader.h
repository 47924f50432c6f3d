// Bounds-checked little-endian reads from untrusted byte buffers (kernel images, guest data).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <type_traits>

namespace bulwark {

// True when [offset, offset+length) lies inside a buffer of `size` bytes, without overflow.
constexpr bool range_within(uint64_t offset, uint64_t length, uint64_t size) {
  return offset <= size && length <= size - offset;
}

// Sum without wrap-around; nullopt on overflow.
constexpr std::optional<uint64_t> checked_add(uint64_t a, uint64_t b) {
  if (a > UINT64_MAX - b) return std::nullopt;
  return a + b;
}

template <typename T>
std::optional<T> read_le(std::span<const uint8_t> bytes, uint64_t offset) {
  static_assert(std::is_trivially_copyable_v<T>);
  if (!range_within(offset, sizeof(T), bytes.size())) return std::nullopt;
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;  // x86-64 host: little endian
}

template <typename T>
bool write_le(std::span<uint8_t> bytes, uint64_t offset, T value) {
  static_assert(std::is_trivially_copyable_v<T>);
  if (!range_within(offset, sizeof(T), bytes.size())) return false;
  std::memcpy(bytes.data() + offset, &value, sizeof(T));
  return true;
}

}  // namespace bulwark
