// Builds command-channel bytes by hand for the tests, independently of the encoder, so the
// tests can write what a compromised bulwark-api could: wrong lengths, repeated or unknown tags,
// bad values. Trusted test code.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::api::test {

class MessageBuilder {
 public:
  // magic: the four ASCII bytes in wire order.
  MessageBuilder(std::string_view magic, uint16_t kind) {
    for (char c : magic) bytes_.push_back(static_cast<uint8_t>(c));
    le(kind, 2);
  }
  static MessageBuilder command(uint16_t kind) { return MessageBuilder("BWC1", kind); }
  static MessageBuilder reply() { return MessageBuilder("BWR1", 0); }
  // A nested record: fields only, no message header.
  static MessageBuilder record() { return MessageBuilder(); }

  MessageBuilder& field_header(uint16_t tag, uint32_t length) {
    le(tag, 2);
    le(length, 4);
    return *this;
  }
  MessageBuilder& raw(std::string_view value) {
    bytes_.insert(bytes_.end(), value.begin(), value.end());
    return *this;
  }
  MessageBuilder& text(uint16_t tag, std::string_view value) {
    field_header(tag, static_cast<uint32_t>(value.size()));
    return raw(value);
  }
  MessageBuilder& u64(uint16_t tag, uint64_t value) {
    field_header(tag, 8);
    le(value, 8);
    return *this;
  }
  MessageBuilder& boolean(uint16_t tag, uint8_t value) {
    field_header(tag, 1);
    bytes_.push_back(value);
    return *this;
  }
  MessageBuilder& nested(uint16_t tag, const MessageBuilder& record) {
    field_header(tag, static_cast<uint32_t>(record.bytes_.size()));
    bytes_.insert(bytes_.end(), record.bytes_.begin(), record.bytes_.end());
    return *this;
  }
  // A token bucket record: size, refill_time_ms, one_time_burst.
  static MessageBuilder bucket(uint64_t size, uint64_t refill_ms, uint64_t burst) {
    MessageBuilder r = record();
    r.u64(1, size).u64(2, refill_ms).u64(3, burst);
    return r;
  }
  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  MessageBuilder() = default;
  void le(uint64_t value, int count) {
    for (int i = 0; i < count; ++i) bytes_.push_back(static_cast<uint8_t>(value >> (8 * i)));
  }
  std::vector<uint8_t> bytes_;
};

}  // namespace bulwark::api::test
