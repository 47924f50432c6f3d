// Typed fields of command-channel records, declared once per record in a Schema<T>
// (command_schema.h) and walked by three visitors: the encoder, the decoder (hostile bytes: from
// a possibly compromised bulwark-api in the launcher, or from the launcher in bulwark-api), and
// a collector of tag names for the framing checks. One declaration serves all three, so the
// encoder cannot emit a tag, order or bound the decoder would refuse.
//
// Schema<T> provides kName (records that are messages) and
//   template <typename Self, typename V> static void fields(Self& record, V& visitor);
// calling, in ascending tag order, visitor.text / u64 / boolean / record / optional_record.
// It may provide `static std::optional<std::string> check(const T&)` for rules across fields
// ("<field>: <why>").
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "api/command/wire_record.h"
#include "api/command/wire_text.h"
#include "bulwark/common/byte_reader.h"
#include "bulwark/common/result.h"

namespace bulwark::api::wire {

template <typename T>
struct Schema;

struct U64Range {
  uint64_t min;
  uint64_t max;
};

template <typename T>
void encode_fields(const T& record, std::vector<uint8_t>& out);
template <typename T>
Result<T> decode_fields(std::span<const uint8_t> bytes, const std::string& path);

// Every field is always written (an empty string as length 0); an optional record only when set.
class FieldEncoder {
 public:
  explicit FieldEncoder(std::vector<uint8_t>& out) : writer_(out) {}
  void text(uint16_t tag, const char*, const std::string& value, const TextRule&) {
    writer_.text(tag, value);
  }
  void u64(uint16_t tag, const char*, uint64_t value, U64Range) { writer_.u64(tag, value); }
  void boolean(uint16_t tag, const char*, bool value) { writer_.boolean(tag, value); }
  template <typename T>
  void record(uint16_t tag, const char*, const T& value) {
    std::vector<uint8_t> nested;
    encode_fields(value, nested);
    writer_.field(tag, nested);
  }
  template <typename T>
  void optional_record(uint16_t tag, const char* name, const std::optional<T>& value) {
    if (value) record(tag, name, *value);
  }

 private:
  RecordWriter writer_;
};

// The names of a record's tags, for split_fields().
class FieldNameCollector {
 public:
  template <typename V, typename... Rest>
  void text(uint16_t tag, const char* name, V&, Rest...) {
    names[tag] = name;
  }
  template <typename V, typename... Rest>
  void u64(uint16_t tag, const char* name, V&, Rest...) {
    names[tag] = name;
  }
  template <typename V>
  void boolean(uint16_t tag, const char* name, V&) {
    names[tag] = name;
  }
  template <typename V>
  void record(uint16_t tag, const char* name, V&) {
    names[tag] = name;
  }
  template <typename V>
  void optional_record(uint16_t tag, const char* name, V&) {
    names[tag] = name;
  }
  FieldNames names{};
};

// Reads the values split_fields() found; stops at the first error.
class FieldDecoder {
 public:
  FieldDecoder(const FieldTable& table, const std::string& path) : table_(table), path_(path) {}

  void text(uint16_t tag, const char* name, std::string& out, const TextRule& rule) {
    const auto value = required(tag, name);
    if (!value) return;
    const std::string_view text(reinterpret_cast<const char*>(value->data()), value->size());
    if (auto problem = text_problem(text, rule)) return fail(name, *problem);
    out.assign(text);
  }
  void u64(uint16_t tag, const char* name, uint64_t& out, U64Range range) {
    const auto value = required(tag, name);
    if (!value) return;
    if (value->size() != 8)
      return fail(name, std::to_string(value->size()) + " bytes, an integer is 8");
    const uint64_t number = *read_le<uint64_t>(*value, 0);
    if (number < range.min || number > range.max)
      return fail(name, std::to_string(number) + ", must be " + std::to_string(range.min) + ".." +
                            std::to_string(range.max));
    out = number;
  }
  void boolean(uint16_t tag, const char* name, bool& out) {
    const auto value = required(tag, name);
    if (!value) return;
    if (value->size() != 1)
      return fail(name, std::to_string(value->size()) + " bytes, a boolean is 1");
    if ((*value)[0] > 1) return fail(name, std::to_string((*value)[0]) + ", a boolean is 0 or 1");
    out = (*value)[0] == 1;
  }
  template <typename T>
  void record(uint16_t tag, const char* name, T& out) {
    const auto value = required(tag, name);
    if (!value) return;
    nested(*value, name, out);
  }
  template <typename T>
  void optional_record(uint16_t tag, const char* name, std::optional<T>& out) {
    if (error_ || !table_[tag]) return out.reset();
    nested(*table_[tag], name, out.emplace());
  }

  const std::optional<Error>& error() const { return error_; }

 private:
  std::optional<std::span<const uint8_t>> required(uint16_t tag, const char* name) {
    if (error_) return std::nullopt;
    if (!table_[tag]) fail(name, "missing");
    return table_[tag];
  }
  void fail(const char* name, const std::string& why) {
    error_ = Error(path_ + "." + name + ": " + why);
  }
  template <typename T>
  void nested(std::span<const uint8_t> bytes, const char* name, T& out) {
    auto decoded = decode_fields<T>(bytes, path_ + "." + name);
    if (!decoded) {
      error_ = decoded.error();
      return;
    }
    out = std::move(*decoded);
  }

  const FieldTable& table_;
  const std::string& path_;
  std::optional<Error> error_;
};

template <typename T>
void encode_fields(const T& record, std::vector<uint8_t>& out) {
  FieldEncoder encoder(out);
  Schema<T>::fields(record, encoder);
}

// `path` names the record in errors: "PutDrive", "PutDrive.rate_limiter".
template <typename T>
Result<T> decode_fields(std::span<const uint8_t> bytes, const std::string& path) {
  T record{};
  FieldNameCollector collector;
  Schema<T>::fields(record, collector);
  auto table = split_fields(bytes, collector.names, path);
  if (!table) return table.error();
  FieldDecoder decoder(*table, path);
  Schema<T>::fields(record, decoder);
  if (decoder.error()) return *decoder.error();
  if constexpr (requires { Schema<T>::check(record); }) {
    if (auto problem = Schema<T>::check(record)) return Error(path + "." + *problem);
  }
  return record;
}

}  // namespace bulwark::api::wire
