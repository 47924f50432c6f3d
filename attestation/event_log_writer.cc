#include "attestation/event_log_writer.h"

#include <string>

namespace bulwark::attestation {

namespace {

template <typename T>
void append_le(std::vector<uint8_t>& out, T value) {
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

void append(std::vector<uint8_t>& out, std::span<const uint8_t> bytes) { out.insert(out.end(), bytes.begin(), bytes.end()); }

}  // namespace

EventLogWriter::EventLogWriter() {
  std::vector<uint8_t> spec_id;
  append(spec_id, kSpecIdSignature);
  append_le<uint32_t>(spec_id, kPlatformClassClient);
  spec_id.push_back(kSpecVersionMinor);
  spec_id.push_back(kSpecVersionMajor);
  spec_id.push_back(kSpecErrata);
  spec_id.push_back(kUintnSize64);
  append_le<uint32_t>(spec_id, 2);
  append_le<uint16_t>(spec_id, kAlgSha256);
  append_le<uint16_t>(spec_id, kSha256Bytes);
  append_le<uint16_t>(spec_id, kAlgSha384);
  append_le<uint16_t>(spec_id, kSha384Bytes);
  spec_id.push_back(0);  // vendorInfoSize

  append_le<uint32_t>(log_, 0);
  append_le<uint32_t>(log_, static_cast<uint32_t>(EventType::kNoAction));
  log_.insert(log_.end(), kSha1Bytes, 0);
  append_le<uint32_t>(log_, static_cast<uint32_t>(spec_id.size()));
  append(log_, spec_id);
}

Result<Digests> EventLogWriter::add(uint32_t pcr, EventType type, std::span<const uint8_t> data,
                                    std::span<const uint8_t> measured) {
  auto digests = measure(measured);
  if (!digests.ok()) return digests.error();
  return add_digests(pcr, type, data, *digests);
}

Result<Digests> EventLogWriter::add_digests(uint32_t pcr, EventType type, std::span<const uint8_t> data,
                                            const Digests& digests) {
  BULWARK_TRY(check_event(pcr, static_cast<uint32_t>(type), data));
  if (events_ >= kMaxEvents) return Error("the log already has " + std::to_string(kMaxEvents) + " events");
  append_le<uint32_t>(log_, pcr);
  append_le<uint32_t>(log_, static_cast<uint32_t>(type));
  append_le<uint32_t>(log_, 2);
  append_le<uint16_t>(log_, kAlgSha256);
  append(log_, digests.sha256);
  append_le<uint16_t>(log_, kAlgSha384);
  append(log_, digests.sha384);
  append_le<uint32_t>(log_, static_cast<uint32_t>(data.size()));
  append(log_, data);
  ++events_;
  return digests;
}

}  // namespace bulwark::attestation
