// Big-endian TPM 2.0 marshalling helpers shared by the quote's commands (launcher side) and the
// parsers of a quote, its signature and the AK's public area (verifier side, hostile input).
// Reads never run past the buffer: each checks start + length against what is left and names
// the field that was short.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "bulwark/common/result.h"

namespace bulwark::attestation::wire {

// TPM 2.0 bounds the marshallers and parsers check lists and buffers against.
inline constexpr size_t kMaxPcrBanks = 8;        // digests of a PCR_Extend, banks of a PCR_Read
inline constexpr size_t kMaxDigestBytes = 64;    // sizeof(TPMU_HA)
inline constexpr size_t kMaxNameBytes = 2 + 64;  // TPM2B_NAME: algorithm + digest

inline void put_u8(std::vector<uint8_t>& out, uint8_t v) { out.push_back(v); }
inline void put_u16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}
inline void put_u32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}
inline void put_bytes(std::vector<uint8_t>& out, std::span<const uint8_t> bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}
// A TPM2B: u16 size, then the bytes (callers bound the size far below 64 KiB).
inline void put_tpm2b(std::vector<uint8_t>& out, std::span<const uint8_t> bytes) {
  put_u16(out, static_cast<uint16_t>(bytes.size()));
  put_bytes(out, bytes);
}

// A command's header (tag, a size filled in by finish_command, command code).
inline std::vector<uint8_t> begin_command(uint16_t tag, uint32_t code) {
  std::vector<uint8_t> out;
  put_u16(out, tag);
  put_u32(out, 0);
  put_u32(out, code);
  return out;
}
inline std::vector<uint8_t> finish_command(std::vector<uint8_t> out) {
  const uint32_t size = static_cast<uint32_t>(out.size());  // small: bounded by the callers
  for (int i = 0; i < 4; ++i) out[2 + i] = static_cast<uint8_t>(size >> (24 - 8 * i));
  return out;
}

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  size_t left() const { return bytes_.size() - offset_; }
  size_t offset() const { return offset_; }

  // An unsigned big-endian integer of `width` bytes (1 to 8).
  Result<uint64_t> read(size_t width, const char* field) {
    if (width > left()) return short_of(field, width);
    uint64_t value = 0;
    for (size_t i = 0; i < width; ++i) value = (value << 8) | bytes_[offset_ + i];
    offset_ += width;
    return value;
  }
  Result<uint8_t> u8(const char* field) { return narrow<uint8_t>(read(1, field)); }
  Result<uint16_t> u16(const char* field) { return narrow<uint16_t>(read(2, field)); }
  Result<uint32_t> u32(const char* field) { return narrow<uint32_t>(read(4, field)); }
  Result<uint64_t> u64(const char* field) { return read(8, field); }

  Result<std::span<const uint8_t>> take(size_t length, const char* field) {
    if (length > left()) return short_of(field, length);
    auto part = bytes_.subspan(offset_, length);
    offset_ += length;
    return part;
  }
  // A TPM2B of at most `max` bytes.
  Result<std::span<const uint8_t>> tpm2b(size_t max, const char* field) {
    auto size = u16(field);
    if (!size.ok()) return size.error();
    if (*size > max) {
      return Error(std::string(field) + " at byte " + std::to_string(offset_ - 2) + ": " + std::to_string(*size) +
                   " bytes, at most " + std::to_string(max));
    }
    return take(*size, field);
  }
  Status at_end(const char* what) const {
    if (left() == 0) return ok_status();
    return Error(std::to_string(left()) + " bytes after the " + what);
  }

 private:
  Error short_of(const char* field, size_t length) const {
    return Error(std::string(field) + " at byte " + std::to_string(offset_) + " (" + std::to_string(length) +
                 " bytes) runs past the end (" + std::to_string(bytes_.size()) + " bytes)");
  }
  template <typename T>
  static Result<T> narrow(Result<uint64_t> value) {
    if (!value.ok()) return value.error();
    return static_cast<T>(*value);
  }
  std::span<const uint8_t> bytes_;
  size_t offset_ = 0;
};

}  // namespace bulwark::attestation::wire
