#include "monitor/acpi/aml.h"

#include <stdexcept>

namespace bulwark::acpi::aml {
namespace {

constexpr uint8_t kZeroOp = 0x00, kOneOp = 0x01, kNameOp = 0x08, kBytePrefix = 0x0a, kWordPrefix = 0x0b,
                  kDWordPrefix = 0x0c, kStringPrefix = 0x0d, kQWordPrefix = 0x0e, kScopeOp = 0x10,
                  kBufferOp = 0x11, kExtOpPrefix = 0x5b, kDeviceOp = 0x82;

void append(Bytes& out, const Bytes& more) { out.insert(out.end(), more.begin(), more.end()); }

// Byte by byte: gcc 12's -Warray-bounds misreads a range insert from a string_view.
void append_text(Bytes& out, std::string_view text) {
  for (char c : text) out.push_back(static_cast<uint8_t>(c));
}

void append_le(Bytes& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

// Op, PkgLength, then the rest.
Bytes with_package(const Bytes& op, const Bytes& rest) {
  const Bytes length = package_length(rest.size());
  Bytes out;
  out.reserve(op.size() + length.size() + rest.size());
  append(out, op);
  append(out, length);
  append(out, rest);
  return out;
}

}  // namespace

Bytes package_length(size_t body_size) {
  // One byte holds up to 63 in total; otherwise the low nibble in the lead byte and 8 bits in
  // each of 1..3 following bytes.
  if (body_size + 1 <= 0x3f) return {static_cast<uint8_t>(body_size + 1)};
  for (size_t extra = 1; extra <= 3; ++extra) {
    const size_t total = body_size + 1 + extra;
    if (total < (size_t{1} << (4 + 8 * extra))) {
      Bytes out{static_cast<uint8_t>((extra << 6) | (total & 0x0f))};
      for (size_t i = 0; i < extra; ++i) out.push_back(static_cast<uint8_t>(total >> (4 + 8 * i)));
      return out;
    }
  }
  throw std::length_error("AML package too large");
}

Bytes name_seg(std::string_view name) {
  if (name.empty() || name.size() > 4) throw std::invalid_argument("AML NameSeg of 1..4 characters");
  Bytes out;
  append_text(out, name);
  out.resize(4, '_');
  return out;
}

Bytes integer(uint64_t value) {
  if (value == 0) return {kZeroOp};
  if (value == 1) return {kOneOp};
  Bytes out;
  if (value <= 0xff) {
    out.push_back(kBytePrefix);
    append_le(out, value, 1);
  } else if (value <= 0xffff) {
    out.push_back(kWordPrefix);
    append_le(out, value, 2);
  } else if (value <= 0xffffffff) {
    out.push_back(kDWordPrefix);
    append_le(out, value, 4);
  } else {
    out.push_back(kQWordPrefix);
    append_le(out, value, 8);
  }
  return out;
}

Bytes string(std::string_view text) {
  Bytes out;
  out.push_back(kStringPrefix);
  append_text(out, text);
  out.push_back(0);
  return out;
}

Bytes buffer(const Bytes& contents) {
  Bytes rest = integer(contents.size());
  append(rest, contents);
  return with_package({kBufferOp}, rest);
}

Bytes name(std::string_view seg, const Bytes& object) {
  Bytes out{kNameOp};
  append(out, name_seg(seg));
  append(out, object);
  return out;
}

Bytes scope(std::string_view path, const Bytes& body) {
  Bytes rest;
  append_text(rest, path);
  append(rest, body);
  return with_package({kScopeOp}, rest);
}

Bytes device(std::string_view seg, const Bytes& body) {
  Bytes rest = name_seg(seg);
  append(rest, body);
  return with_package({kExtOpPrefix, kDeviceOp}, rest);
}

Bytes memory32_fixed_template(bool writable, uint32_t base, uint32_t length) {
  Bytes out{0x86, 0x09, 0x00, static_cast<uint8_t>(writable ? 1 : 0)};  // large item 0x06, 9 bytes
  append_le(out, base, 4);
  append_le(out, length, 4);
  out.push_back(0x79);  // end tag
  out.push_back(0x00);  // checksum 0: "treated as if the checksum operation succeeded"
  return buffer(out);
}

}  // namespace bulwark::acpi::aml
