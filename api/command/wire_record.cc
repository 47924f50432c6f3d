// Framing of command-channel messages; input from the peer process, hostile (see wire_record.h).
#include "api/command/wire_record.h"

#include "bulwark/common/byte_reader.h"

namespace bulwark::api::wire {

void RecordWriter::put_le(uint64_t value, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) out_.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

void RecordWriter::message_header(uint32_t magic, uint16_t kind) {
  put_le(magic, 4);
  put_le(kind, 2);
}

void RecordWriter::field(uint16_t tag, std::span<const uint8_t> value) {
  put_le(tag, 2);
  // A value too large for the u32 length makes the message exceed kMaxMessageBytes, which the
  // decoder refuses before reading any length.
  put_le(static_cast<uint32_t>(value.size()), 4);
  out_.insert(out_.end(), value.begin(), value.end());
}

void RecordWriter::text(uint16_t tag, std::string_view value) {
  field(tag, std::span(reinterpret_cast<const uint8_t*>(value.data()), value.size()));
}

void RecordWriter::u64(uint16_t tag, uint64_t value) {
  put_le(tag, 2);
  put_le(8, 4);
  put_le(value, 8);
}

void RecordWriter::boolean(uint16_t tag, bool value) {
  const uint8_t byte = value ? 1 : 0;
  field(tag, std::span(&byte, 1));
}

Result<uint16_t> read_message_header(std::span<const uint8_t> message, uint32_t magic,
                                     std::string_view what) {
  const std::string name(what);
  if (message.size() > kMaxMessageBytes)
    return Error(name + ": " + std::to_string(message.size()) + " bytes, at most " +
                 std::to_string(kMaxMessageBytes));
  if (message.size() < kMessageHeaderBytes)
    return Error(name + ": " + std::to_string(message.size()) + " bytes, shorter than the " +
                 std::to_string(kMessageHeaderBytes) + "-byte header");
  if (read_le<uint32_t>(message, 0) != magic) {
    const char expected[] = {static_cast<char>(magic), static_cast<char>(magic >> 8),
                             static_cast<char>(magic >> 16), static_cast<char>(magic >> 24), 0};
    return Error(name + ": wrong magic, expected " + expected);
  }
  return *read_le<uint16_t>(message, 4);
}

Result<FieldTable> split_fields(std::span<const uint8_t> record, const FieldNames& names,
                                const std::string& path) {
  FieldTable table{};
  uint16_t previous_tag = 0;
  uint64_t offset = 0;
  while (offset < record.size()) {
    if (!range_within(offset, kFieldHeaderBytes, record.size()))
      return Error(path + ": trailing bytes (" + std::to_string(record.size() - offset) +
                   "), not a whole field header");
    const uint16_t tag = *read_le<uint16_t>(record, offset);
    const uint32_t length = *read_le<uint32_t>(record, offset + 2);
    if (tag == 0 || tag > kMaxTag || names[tag] == nullptr)
      return Error(path + ": unknown tag " + std::to_string(tag));
    const std::string field = path + "." + names[tag];
    if (tag == previous_tag) return Error(field + ": appears twice");
    if (tag < previous_tag)
      return Error(field + ": out of order (tag " + std::to_string(tag) + " after tag " +
                   std::to_string(previous_tag) + ")");
    const uint64_t value_offset = offset + kFieldHeaderBytes;
    if (!range_within(value_offset, length, record.size()))
      return Error(field + ": length " + std::to_string(length) + ", only " +
                   std::to_string(record.size() - value_offset) + " bytes left");
    table[tag] = record.subspan(value_offset, length);
    previous_tag = tag;
    offset = value_offset + length;
  }
  return table;
}

}  // namespace bulwark::api::wire
