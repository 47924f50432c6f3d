// The framing of the command channel (api/command/README.md): the message header and a record's
// {tag, length, bytes} fields. split_fields() reads bytes from a possibly compromised
// bulwark-api (in the launcher) or from the launcher (in bulwark-api) and checks only the
// framing; wire_fields.h checks the values.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "api/command/command.h"
#include "bulwark/common/result.h"

namespace bulwark::api::wire {

// The four ASCII bytes "BWC1" / "BWR1", read as a little-endian u32.
inline constexpr uint32_t kCommandMagic = 0x31435742;
inline constexpr uint32_t kReplyMagic = 0x31525742;
inline constexpr size_t kMessageHeaderBytes = 6;  // u32 magic, u16 kind
inline constexpr size_t kFieldHeaderBytes = 6;    // u16 tag, u32 length
inline constexpr size_t kU64FieldBytes = kFieldHeaderBytes + 8;
// Tags of one record are 1..kMaxTag.
inline constexpr uint16_t kMaxTag = 15;

// A reply's body fills what is left of a message after the header, status, body_kind and the
// body's own field header.
inline constexpr size_t kMaxReplyBodyBytes =
    kMaxMessageBytes - kMessageHeaderBytes - 2 * kU64FieldBytes - kFieldHeaderBytes;

// Appends fields to a message or a nested record.
class RecordWriter {
 public:
  explicit RecordWriter(std::vector<uint8_t>& out) : out_(out) {}
  void message_header(uint32_t magic, uint16_t kind);
  void field(uint16_t tag, std::span<const uint8_t> value);
  void text(uint16_t tag, std::string_view value);
  void u64(uint16_t tag, uint64_t value);
  void boolean(uint16_t tag, bool value);

 private:
  void put_le(uint64_t value, size_t bytes);
  std::vector<uint8_t>& out_;
};

// The kind after a message header with `magic`, once the size and magic are right.
// `what` names the message in errors ("command", "reply").
Result<uint16_t> read_message_header(std::span<const uint8_t> message, uint32_t magic,
                                     std::string_view what);

// A record's field values by tag.
using FieldTable = std::array<std::optional<std::span<const uint8_t>>, kMaxTag + 1>;
// One name per tag (index = tag), nullptr for a tag the record does not have.
using FieldNames = std::array<const char*, kMaxTag + 1>;

// Splits `record` into fields: tags must be known (names[tag] set) and strictly ascending (so
// each appears once), each length must fit in what is left, and nothing may trail. Errors are
// "<path>: ..." or "<path>.<field>: ...". Lengths are checked as start + length against the
// record's size in 64 bits, so a u32 length near 2^32 cannot wrap an offset.
Result<FieldTable> split_fields(std::span<const uint8_t> record, const FieldNames& names,
                                const std::string& path);

}  // namespace bulwark::api::wire
