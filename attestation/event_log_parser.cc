#include "attestation/event_log_parser.h"

#include <algorithm>
#include <string>

#include "bulwark/common/byte_reader.h"
#include "bulwark/common/hex.h"

namespace bulwark::attestation {

namespace {

std::string num(uint64_t value) { return std::to_string(value); }

// Reads forward through the log; every read is bounds-checked against what is left.
class Cursor {
 public:
  Cursor(std::span<const uint8_t> bytes, const char* what) : bytes_(bytes), what_(what) {}

  template <typename T>
  Result<T> read(const char* field) {
    auto value = read_le<T>(bytes_, offset_);
    if (!value) return past_end(field, sizeof(T));
    offset_ += sizeof(T);
    return *value;
  }
  Result<std::span<const uint8_t>> take(uint64_t length, const char* field) {
    if (!range_within(offset_, length, bytes_.size())) return past_end(field, length);
    auto part = bytes_.subspan(offset_, length);
    offset_ += length;
    return part;
  }
  uint64_t offset() const { return offset_; }
  uint64_t left() const { return bytes_.size() - offset_; }

 private:
  Error past_end(const char* field, uint64_t length) const {
    return Error(std::string(field) + " (" + num(length) + " bytes at offset " + num(offset_) +
                 ") runs past the end of the " + num(bytes_.size()) + "-byte " + what_);
  }
  std::span<const uint8_t> bytes_;
  const char* what_;
  uint64_t offset_ = 0;
};

#define ASSIGN_OR_RETURN(var, expr) \
  auto var##_result = (expr);       \
  if (!var##_result.ok()) return var##_result.error(); \
  auto var = *var##_result

// PCR index, type, digest count, two (algorithm id, digest) pairs, event size.
constexpr uint64_t kMinEventBytes = 12 + 2 + kSha256Bytes + 2 + kSha384Bytes + 4;

size_t digest_size(uint16_t alg) { return alg == kAlgSha256 ? kSha256Bytes : kSha384Bytes; }

// The Spec ID header; returns the banks in the header's order.
Result<std::vector<uint16_t>> parse_header(Cursor& log) {
  ASSIGN_OR_RETURN(pcr, log.read<uint32_t>("header PCR index"));
  ASSIGN_OR_RETURN(type, log.read<uint32_t>("header event type"));
  if (pcr != 0 || type != static_cast<uint32_t>(EventType::kNoAction))
    return Error("header: expected PCR 0 and EV_NO_ACTION, got PCR " + num(pcr) + " and " + event_type_name(type) +
                 " (not a crypto-agile log)");
  ASSIGN_OR_RETURN(sha1, log.take(kSha1Bytes, "header digest"));
  if (std::any_of(sha1.begin(), sha1.end(), [](uint8_t b) { return b != 0; }))
    return Error("header: the SHA-1 digest field is not all zero");
  ASSIGN_OR_RETURN(size, log.read<uint32_t>("header event size"));
  ASSIGN_OR_RETURN(body, log.take(size, "header Spec ID event"));
  Cursor spec(body, "Spec ID event");
  ASSIGN_OR_RETURN(signature, spec.take(kSpecIdSignature.size(), "Spec ID signature"));
  if (!std::equal(signature.begin(), signature.end(), kSpecIdSignature.begin()))
    return Error("header: signature is not \"Spec ID Event03\"");
  ASSIGN_OR_RETURN(platform_class, spec.read<uint32_t>("Spec ID platform class"));
  if (platform_class > 1) return Error("header: platform class " + num(platform_class) + " (expected 0 or 1)");
  ASSIGN_OR_RETURN(minor, spec.read<uint8_t>("Spec ID version"));
  ASSIGN_OR_RETURN(major, spec.read<uint8_t>("Spec ID version"));
  if (major != kSpecVersionMajor || minor != kSpecVersionMinor)
    return Error("header: spec version " + num(major) + "." + num(minor) + " (expected 2.0)");
  ASSIGN_OR_RETURN(errata, spec.read<uint8_t>("Spec ID errata"));
  (void)errata;
  ASSIGN_OR_RETURN(uintn, spec.read<uint8_t>("Spec ID uintnSize"));
  if (uintn != 1 && uintn != 2) return Error("header: uintnSize " + num(uintn) + " (expected 1 or 2)");
  ASSIGN_OR_RETURN(count, spec.read<uint32_t>("Spec ID algorithm count"));
  if (count != 2) return Error("header: " + num(count) + " algorithms (expected SHA-256 and SHA-384)");
  std::vector<uint16_t> banks;
  for (uint32_t i = 0; i < count; ++i) {
    ASSIGN_OR_RETURN(alg, spec.read<uint16_t>("Spec ID algorithm id"));
    ASSIGN_OR_RETURN(bytes, spec.read<uint16_t>("Spec ID digest size"));
    if (alg != kAlgSha256 && alg != kAlgSha384)
      return Error("header: unknown algorithm id " + hex(alg) + " (expected SHA-256 0xb and SHA-384 0xc)");
    if (std::find(banks.begin(), banks.end(), alg) != banks.end())
      return Error("header: algorithm id " + hex(alg) + " listed twice");
    if (bytes != digest_size(alg))
      return Error("header: digest size " + num(bytes) + " for algorithm id " + hex(alg) + " (expected " +
                   num(digest_size(alg)) + ")");
    banks.push_back(alg);
  }
  ASSIGN_OR_RETURN(vendor_size, spec.read<uint8_t>("Spec ID vendor info size"));
  ASSIGN_OR_RETURN(vendor_info, spec.take(vendor_size, "Spec ID vendor info"));
  (void)vendor_info;
  if (spec.left() != 0)
    return Error("header: " + num(spec.left()) + " bytes after the Spec ID event's vendor info");
  return banks;
}

Result<Event> parse_event(Cursor& log, const std::vector<uint16_t>& banks) {
  Event event;
  ASSIGN_OR_RETURN(pcr, log.read<uint32_t>("PCR index"));
  ASSIGN_OR_RETURN(type, log.read<uint32_t>("event type"));
  ASSIGN_OR_RETURN(count, log.read<uint32_t>("digest count"));
  if (count != banks.size())
    return Error("digest count " + num(count) + " differs from the header's " + num(banks.size()) + " algorithms");
  std::vector<uint16_t> seen;
  for (uint32_t i = 0; i < count; ++i) {
    ASSIGN_OR_RETURN(alg, log.read<uint16_t>("digest algorithm id"));
    if (std::find(banks.begin(), banks.end(), alg) == banks.end())
      return Error("digest " + num(i) + ": unknown algorithm id " + hex(alg));
    if (std::find(seen.begin(), seen.end(), alg) != seen.end())
      return Error("digest " + num(i) + ": algorithm id " + hex(alg) + " appears twice");
    seen.push_back(alg);
    ASSIGN_OR_RETURN(digest, log.take(digest_size(alg), "digest"));
    if (alg == kAlgSha256) std::copy(digest.begin(), digest.end(), event.digests.sha256.begin());
    else std::copy(digest.begin(), digest.end(), event.digests.sha384.begin());
  }
  ASSIGN_OR_RETURN(size, log.read<uint32_t>("event size"));
  if (size > kMaxEventDataBytes)
    return Error("event size " + num(size) + " is above the limit of " + num(kMaxEventDataBytes) + " bytes");
  ASSIGN_OR_RETURN(data, log.take(size, "event data"));
  BULWARK_TRY(check_event(pcr, type, data));
  event.pcr = pcr;
  event.type = static_cast<EventType>(type);
  event.data.assign(data.begin(), data.end());
  return event;
}

#undef ASSIGN_OR_RETURN

}  // namespace

Result<std::vector<Event>> parse_event_log(std::span<const uint8_t> bytes) {
  Cursor log(bytes, "log");
  auto banks = parse_header(log);
  if (!banks.ok()) return banks.error().wrap("event log");
  std::vector<Event> events;
  while (log.left() > 0) {
    const uint64_t at = log.offset();
    if (events.size() >= kMaxEvents)
      return Error("event log: more than " + num(kMaxEvents) + " events (" + num(log.left()) +
                   " bytes left at offset " + num(at) + ")");
    if (log.left() < kMinEventBytes)
      return Error("event log: " + num(log.left()) + " trailing bytes after " +
                   (events.empty() ? std::string("the header") : "event " + num(events.size())) + ", too few for an event (at least " + num(kMinEventBytes) + ")");
    auto event = parse_event(log, *banks);
    if (!event.ok())
      return event.error().wrap("event log: event " + num(events.size() + 1) + " at offset " + num(at));
    events.push_back(std::move(*event));
  }
  return events;
}

}  // namespace bulwark::attestation
