#include "attestation/tpm2_quote_response.h"

#include <algorithm>
#include <string>

#include "attestation/tpm2_response.h"
#include "attestation/tpm2_wire.h"

namespace bulwark::attestation {

namespace {

constexpr size_t kMaxCreationDataBytes = 1024;

#define BULWARK_READ(out, expr, what) \
  auto out = (expr);                  \
  if (!out.ok()) return out.error().wrap(what)

// The password session's TPMS_AUTH_RESPONSE: nonce, attributes, hmac; nothing after.
Status read_session(wire::Reader& in, const char* what) {
  BULWARK_READ(nonce, in.tpm2b(wire::kMaxDigestBytes, "session nonce"), what);
  BULWARK_READ(attributes, in.u8("sessionAttributes"), what);
  BULWARK_READ(hmac, in.tpm2b(wire::kMaxDigestBytes, "session hmac"), what);
  if (Status s = in.at_end("session area"); !s.ok()) return s.error().wrap(what);
  return ok_status();
}

// For a response whose header check_response passed: a session area, then parameterSize: the
// parameters as their own span, the rest (the session) left in `in`.
Result<std::span<const uint8_t>> parameters(wire::Reader& in, const ResponseHeader& header, const char* what) {
  if (header.tag != kTpmStSessions) return Error(std::string(what) + ": a response without its session area");
  BULWARK_READ(size, in.u32("parameterSize"), what);
  BULWARK_READ(params, in.take(*size, "parameters"), what);
  return *params;
}

}  // namespace

Result<CreatedAk> parse_create_ak_response(std::span<const uint8_t> bytes) {
  const char* what = "TPM2_CreatePrimary";
  auto header = check_response(bytes);
  if (!header.ok()) return header.error().wrap(what);
  wire::Reader in(bytes.subspan(kTpmHeaderBytes));
  CreatedAk created;
  // The handle area comes before parameterSize.
  BULWARK_READ(handle, in.u32("objectHandle"), what);
  created.handle = *handle;
  if ((created.handle >> 24) != 0x80) return Error(std::string(what) + ": objectHandle is not a transient object's");
  auto params = parameters(in, *header, what);
  if (!params.ok()) return params.error();
  wire::Reader p(*params);
  BULWARK_READ(area, p.tpm2b(kMaxAkPublicBytes, "outPublic"), what);
  auto ak = parse_ak_public_area(*area);
  if (!ak.ok()) return ak.error().wrap(what);
  created.ak = std::move(*ak);
  BULWARK_READ(creation_data, p.tpm2b(kMaxCreationDataBytes, "creationData"), what);
  BULWARK_READ(creation_hash, p.tpm2b(wire::kMaxDigestBytes, "creationHash"), what);
  BULWARK_READ(ticket_tag, p.u16("creationTicket tag"), what);
  BULWARK_READ(ticket_hierarchy, p.u32("creationTicket hierarchy"), what);
  BULWARK_READ(ticket_digest, p.tpm2b(wire::kMaxDigestBytes, "creationTicket digest"), what);
  BULWARK_READ(name, p.tpm2b(wire::kMaxNameBytes, "name"), what);
  if (Status s = p.at_end("parameters"); !s.ok()) return s.error().wrap(what);
  auto expected = ak_name(created.ak);
  if (!expected.ok()) return expected.error().wrap(what);
  if (!std::equal(name->begin(), name->end(), expected->begin(), expected->end())) {
    return Error(std::string(what) + ": the name is not the public area's");
  }
  created.name = std::move(*expected);
  BULWARK_TRY(read_session(in, what));
  return created;
}

Result<QuoteResponse> parse_quote_response(std::span<const uint8_t> bytes) {
  const char* what = "TPM2_Quote";
  auto header = check_response(bytes);
  if (!header.ok()) return header.error().wrap(what);
  wire::Reader in(bytes.subspan(kTpmHeaderBytes));
  auto params = parameters(in, *header, what);
  if (!params.ok()) return params.error();
  wire::Reader p(*params);
  BULWARK_READ(attest, p.tpm2b(kMaxAttestBytes, "quoted"), what);
  if (auto parsed = parse_quote_attest(*attest); !parsed.ok()) return parsed.error().wrap(what);
  // TPMT_SIGNATURE has no size of its own: it is the rest of the parameters.
  BULWARK_READ(signature, p.take(p.left(), "signature"), what);
  if (auto parsed = parse_quote_signature(*signature); !parsed.ok()) return parsed.error().wrap(what);
  BULWARK_TRY(read_session(in, what));
  QuoteResponse out;
  out.attest.assign(attest->begin(), attest->end());
  out.signature.assign(signature->begin(), signature->end());
  return out;
}

Status parse_flush_context_response(std::span<const uint8_t> bytes) {
  auto header = check_response(bytes);
  if (!header.ok()) return header.error().wrap("TPM2_FlushContext");
  if (bytes.size() != kTpmHeaderBytes) {
    return Error("TPM2_FlushContext: " + std::to_string(bytes.size() - kTpmHeaderBytes) + " bytes after the header");
  }
  return ok_status();
}

}  // namespace bulwark::attestation
