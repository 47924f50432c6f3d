#include "attestation/event_log.h"

#include <openssl/evp.h>

#include "bulwark/common/byte_reader.h"
#include "bulwark/common/hex.h"

namespace bulwark::attestation {

namespace {

template <size_t N>
bool digest_into(const EVP_MD* algorithm, std::span<const uint8_t> bytes, std::array<uint8_t, N>& out) {
  unsigned int length = 0;
  return algorithm != nullptr && EVP_MD_get_size(algorithm) == static_cast<int>(N) &&
         EVP_Digest(bytes.data(), bytes.size(), out.data(), &length, algorithm, nullptr) == 1 && length == N;
}

}  // namespace

Result<Digests> measure(std::span<const uint8_t> bytes) {
  Digests digests;
  if (!digest_into(EVP_sha256(), bytes, digests.sha256)) return Error("SHA-256: OpenSSL failed");
  if (!digest_into(EVP_sha384(), bytes, digests.sha384)) return Error("SHA-384: OpenSSL failed");
  return digests;
}

std::string event_type_name(uint32_t type) {
  switch (static_cast<EventType>(type)) {
    case EventType::kNoAction: return "EV_NO_ACTION";
    case EventType::kSeparator: return "EV_SEPARATOR";
    case EventType::kAction: return "EV_ACTION";
    case EventType::kEventTag: return "EV_EVENT_TAG";
    case EventType::kIpl: return "EV_IPL";
  }
  return hex(type);
}

Status check_event(uint32_t pcr, uint32_t type, std::span<const uint8_t> data) {
  if (pcr >= kPcrCount) return Error("PCR index " + std::to_string(pcr) + " is above 23");
  switch (static_cast<EventType>(type)) {
    case EventType::kSeparator:
    case EventType::kAction:
    case EventType::kIpl:
    case EventType::kEventTag: break;
    case EventType::kNoAction: return Error("EV_NO_ACTION after the header (every event of this log is measured)");
    default: return Error("event type " + hex(type) + " is not one a Bulwark launch writes");
  }
  if (data.size() > kMaxEventDataBytes)
    return Error("event size " + std::to_string(data.size()) + " is above the limit of " +
                 std::to_string(kMaxEventDataBytes) + " bytes");
  if (static_cast<EventType>(type) == EventType::kEventTag) {
    auto tagged = parse_tagged_event(data);
    if (!tagged.ok()) return tagged.error();
  }
  return ok_status();
}

std::vector<uint8_t> encode_tagged_event(uint32_t tag, std::span<const uint8_t> data) {
  std::vector<uint8_t> out(8 + data.size());
  write_le<uint32_t>(out, 0, tag);
  write_le<uint32_t>(out, 4, static_cast<uint32_t>(data.size()));
  std::copy(data.begin(), data.end(), out.begin() + 8);
  return out;
}

Result<TaggedEvent> parse_tagged_event(std::span<const uint8_t> event_data) {
  if (event_data.size() < 8)
    return Error("EV_EVENT_TAG data of " + std::to_string(event_data.size()) +
                 " bytes is shorter than its 8-byte tagged event header");
  const uint32_t size = *read_le<uint32_t>(event_data, 4);
  if (uint64_t{size} != event_data.size() - 8)
    return Error("EV_EVENT_TAG: tagged event data size " + std::to_string(size) + " does not match the " +
                 std::to_string(event_data.size() - 8) + " bytes after its header");
  return TaggedEvent{*read_le<uint32_t>(event_data, 0), {event_data.begin() + 8, event_data.end()}};
}

}  // namespace bulwark::attestation
