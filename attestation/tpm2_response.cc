#include "attestation/tpm2_response.h"

#include <cstdio>
#include <string>

#include "attestation/tpm2_wire.h"

namespace bulwark::attestation {

namespace {

constexpr uint32_t kTpmRcInitialize = 0x00000100;

std::string hex32(uint32_t v) {
  char text[11];
  std::snprintf(text, sizeof text, "0x%08x", v);
  return text;
}

// Big-endian reads that never run past the response: each one checks start + length against
// what is left and says which field was short.
class ResponseReader {
 public:
  explicit ResponseReader(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  size_t left() const { return bytes_.size() - offset_; }
  size_t offset() const { return offset_; }
  Result<uint32_t> read(size_t width, const char* field) {
    if (width > left()) {
      return Error(std::string(field) + " at byte " + std::to_string(offset_) + " runs past the end (" +
                   std::to_string(bytes_.size()) + " bytes)");
    }
    uint32_t value = 0;
    for (size_t i = 0; i < width; ++i) value = (value << 8) | bytes_[offset_ + i];
    offset_ += width;
    return value;
  }
  Result<std::span<const uint8_t>> take(size_t length, const char* field) {
    if (length > left()) {
      return Error(std::string(field) + " at byte " + std::to_string(offset_) + " (" + std::to_string(length) +
                   " bytes) runs past the end (" + std::to_string(bytes_.size()) + " bytes)");
    }
    auto part = bytes_.subspan(offset_, length);
    offset_ += length;
    return part;
  }
  Status at_end(const char* what) const {
    if (left() == 0) return ok_status();
    return Error(std::to_string(left()) + " bytes after the " + what);
  }

 private:
  std::span<const uint8_t> bytes_;
  size_t offset_ = 0;
};

Result<size_t> digest_bytes(uint16_t alg) {
  if (alg == kAlgSha256) return kSha256Bytes;
  if (alg == kAlgSha384) return kSha384Bytes;
  return Error("bank algorithm " + hex32(alg) + " is neither SHA-256 nor SHA-384");
}

}  // namespace

Result<ResponseHeader> parse_response_header(std::span<const uint8_t> bytes) {
  ResponseReader in(bytes);
  ResponseHeader header;
  auto tag = in.read(2, "tag");
  if (!tag.ok()) return tag.error().wrap("TPM response");
  auto size = in.read(4, "responseSize");
  if (!size.ok()) return size.error().wrap("TPM response");
  auto code = in.read(4, "responseCode");
  if (!code.ok()) return code.error().wrap("TPM response");
  header.tag = static_cast<uint16_t>(*tag);
  header.size = *size;
  header.code = *code;
  if (header.tag != kTpmStNoSessions && header.tag != kTpmStSessions) {
    return Error("TPM response: tag " + hex32(header.tag) + " is neither TPM_ST_NO_SESSIONS nor TPM_ST_SESSIONS");
  }
  if (header.size < kTpmHeaderBytes || header.size > kTpmMaxMessageBytes) {
    return Error("TPM response: size " + std::to_string(header.size) + " is outside 10.." +
                 std::to_string(kTpmMaxMessageBytes));
  }
  return header;
}

Result<ResponseHeader> check_response(std::span<const uint8_t> bytes) {
  auto header = parse_response_header(bytes);
  if (!header.ok()) return header.error();
  if (header->size != bytes.size()) {
    return Error("TPM response: size field " + std::to_string(header->size) + " but " +
                 std::to_string(bytes.size()) + " bytes arrived");
  }
  if (header->code != 0) return Error("TPM error " + hex32(header->code));
  return header;
}

Status parse_startup_response(std::span<const uint8_t> bytes, bool already_started_ok) {
  auto header = parse_response_header(bytes);
  if (!header.ok()) return header.error().wrap("TPM2_Startup");
  if (already_started_ok && header->code == kTpmRcInitialize && header->size == bytes.size() &&
      bytes.size() == kTpmHeaderBytes) {
    return ok_status();
  }
  auto checked = check_response(bytes);
  if (!checked.ok()) return checked.error().wrap("TPM2_Startup");
  if (bytes.size() != kTpmHeaderBytes) {
    return Error("TPM2_Startup: " + std::to_string(bytes.size() - kTpmHeaderBytes) + " bytes after the header");
  }
  return ok_status();
}

Status parse_pcr_extend_response(std::span<const uint8_t> bytes) {
  auto header = check_response(bytes);
  if (!header.ok()) return header.error().wrap("TPM2_PCR_Extend");
  if (header->tag != kTpmStSessions) return Error("TPM2_PCR_Extend: a response without its session area");
  ResponseReader in(bytes.subspan(kTpmHeaderBytes));
  auto fail = [](const Error& e) { return e.wrap("TPM2_PCR_Extend"); };
  auto parameters = in.read(4, "parameterSize");
  if (!parameters.ok()) return fail(parameters.error());
  if (*parameters != 0) return Error("TPM2_PCR_Extend: parameterSize " + std::to_string(*parameters) + ", expected 0");
  // TPMS_AUTH_RESPONSE of the password session: nonce (empty), attributes, hmac (empty).
  auto nonce = in.read(2, "nonce size");
  if (!nonce.ok()) return fail(nonce.error());
  if (auto skipped = in.take(*nonce, "nonce"); !skipped.ok()) return fail(skipped.error());
  if (auto attributes = in.read(1, "sessionAttributes"); !attributes.ok()) return fail(attributes.error());
  auto hmac = in.read(2, "hmac size");
  if (!hmac.ok()) return fail(hmac.error());
  if (auto skipped = in.take(*hmac, "hmac"); !skipped.ok()) return fail(skipped.error());
  if (Status s = in.at_end("session area"); !s.ok()) return fail(s.error());
  return ok_status();
}

Result<PcrReadResult> parse_pcr_read_response(std::span<const uint8_t> bytes, uint32_t pcr) {
  auto fail = [](const Error& e) { return e.wrap("TPM2_PCR_Read"); };
  if (pcr >= kPcrCount) return Error("TPM2_PCR_Read: PCR " + std::to_string(pcr) + " is above 23");
  auto header = check_response(bytes);
  if (!header.ok()) return fail(header.error());
  if (header->tag != kTpmStNoSessions) return Error("TPM2_PCR_Read: a session area in a response to a command without one");
  ResponseReader in(bytes.subspan(kTpmHeaderBytes));
  PcrReadResult result;
  auto counter = in.read(4, "pcrUpdateCounter");
  if (!counter.ok()) return fail(counter.error());
  result.update_counter = *counter;
  auto selections = in.read(4, "pcrSelectionOut count");
  if (!selections.ok()) return fail(selections.error());
  if (*selections > wire::kMaxPcrBanks) return Error("TPM2_PCR_Read: " + std::to_string(*selections) + " banks, at most 8");
  std::vector<uint16_t> selected;
  for (uint32_t i = 0; i < *selections; ++i) {
    auto alg = in.read(2, "selection hash");
    if (!alg.ok()) return fail(alg.error());
    auto size = in.read(1, "sizeofSelect");
    if (!size.ok()) return fail(size.error());
    if (*size > kTpmPcrSelectBytes) return Error("TPM2_PCR_Read: sizeofSelect " + std::to_string(*size) + ", at most 3");
    auto select = in.take(*size, "pcrSelect");
    if (!select.ok()) return fail(select.error());
    bool only_pcr = true, has_pcr = false;
    for (size_t b = 0; b < select->size(); ++b) {
      const uint8_t want = b == pcr / 8 ? static_cast<uint8_t>(1u << (pcr % 8)) : 0;
      const uint8_t got = (*select)[b];
      if (got == want && want != 0) has_pcr = true;
      if (got != want && got != 0) only_pcr = false;
    }
    if (!only_pcr) return Error("TPM2_PCR_Read: bank " + hex32(*alg) + " selects PCRs other than " + std::to_string(pcr));
    if (!has_pcr) continue;  // a bank the TPM does not have: nothing read
    if (auto bytes_needed = digest_bytes(static_cast<uint16_t>(*alg)); !bytes_needed.ok()) return fail(bytes_needed.error());
    selected.push_back(static_cast<uint16_t>(*alg));
  }
  auto count = in.read(4, "pcrValues count");
  if (!count.ok()) return fail(count.error());
  if (*count != selected.size()) {
    return Error("TPM2_PCR_Read: " + std::to_string(*count) + " digests for " + std::to_string(selected.size()) +
                 " selected banks");
  }
  for (uint16_t alg : selected) {
    auto size = in.read(2, "digest size");
    if (!size.ok()) return fail(size.error());
    const size_t expected = *digest_bytes(alg);
    if (*size != expected) {
      return Error("TPM2_PCR_Read: a " + std::to_string(*size) + "-byte digest in bank " + hex32(alg) + " (expected " +
                   std::to_string(expected) + ")");
    }
    auto digest = in.take(*size, "digest");
    if (!digest.ok()) return fail(digest.error());
    result.banks.push_back({alg, std::vector<uint8_t>(digest->begin(), digest->end())});
  }
  if (Status s = in.at_end("PCR values"); !s.ok()) return fail(s.error());
  return result;
}

}  // namespace bulwark::attestation
