#include "attestation/tpm2_quote_structures.h"

#include <cstdio>
#include <string>

#include "attestation/event_log.h"
#include "attestation/tpm2_quote_command.h"
#include "attestation/tpm2_wire.h"

namespace bulwark::attestation {

namespace {

constexpr size_t kMaxPcrSelectBytes = 3;  // PCRs 0-23

std::string hex16(uint32_t v) {
  char text[7];
  std::snprintf(text, sizeof text, "0x%04x", v & 0xFFFF);
  return text;
}

// Reads `field` into `out` or returns its error wrapped with `what`.
#define BULWARK_READ(out, expr, what) \
  auto out = (expr);                  \
  if (!out.ok()) return out.error().wrap(what)

}  // namespace

Result<AkPublic> parse_ak_public_area(std::span<const uint8_t> area) {
  const char* what = "AK public area";
  wire::Reader in(area);
  BULWARK_READ(type, in.u16("type"), what);
  if (*type != kTpmAlgEcc) return Error(std::string(what) + ": type " + hex16(*type) + " is not ECC (0x0023)");
  BULWARK_READ(name_alg, in.u16("nameAlg"), what);
  if (*name_alg != kAlgSha256) return Error(std::string(what) + ": nameAlg " + hex16(*name_alg) + " is not SHA-256");
  BULWARK_READ(attributes, in.u32("objectAttributes"), what);
  const uint32_t needed = kTpmaFixedTpm | kTpmaRestricted | kTpmaSign;
  const uint32_t decrypt = 1u << 17;
  if ((*attributes & needed) != needed || (*attributes & decrypt) != 0) {
    char text[11];
    std::snprintf(text, sizeof text, "0x%08x", *attributes);
    return Error(std::string(what) + ": attributes " + text + " are not a restricted, sign-only, fixedTPM key's");
  }
  BULWARK_READ(policy, in.tpm2b(wire::kMaxDigestBytes, "authPolicy"), what);
  BULWARK_READ(symmetric, in.u16("symmetric"), what);
  if (*symmetric != kTpmAlgNull) return Error(std::string(what) + ": a symmetric algorithm on a signing key");
  BULWARK_READ(scheme, in.u16("scheme"), what);
  if (*scheme != kTpmAlgEcdsa)
    return Error(std::string(what) + ": scheme " + hex16(*scheme) + " is not ECDSA (0x0018)");
  BULWARK_READ(scheme_hash, in.u16("scheme hashAlg"), what);
  if (*scheme_hash != kAlgSha256)
    return Error(std::string(what) + ": ECDSA with " + hex16(*scheme_hash) + ", not SHA-256");
  BULWARK_READ(curve, in.u16("curveID"), what);
  if (*curve != kTpmEccNistP256)
    return Error(std::string(what) + ": curve " + hex16(*curve) + " is not NIST P-256 (0x0003)");
  BULWARK_READ(kdf, in.u16("kdf"), what);
  if (*kdf != kTpmAlgNull) return Error(std::string(what) + ": a kdf on a signing key");
  BULWARK_READ(x, in.tpm2b(kP256CoordinateBytes, "unique.x"), what);
  BULWARK_READ(y, in.tpm2b(kP256CoordinateBytes, "unique.y"), what);
  if (x->empty() || y->empty()) return Error(std::string(what) + ": an empty point (a template, not a key)");
  if (Status s = in.at_end("public area"); !s.ok()) return s.error().wrap(what);
  AkPublic ak;
  ak.area.assign(area.begin(), area.end());
  ak.attributes = *attributes;
  ak.x.assign(x->begin(), x->end());
  ak.y.assign(y->begin(), y->end());
  return ak;
}

Result<AkPublic> parse_ak_public_file(std::span<const uint8_t> bytes) {
  if (bytes.size() > kMaxAkPublicBytes) return Error("AK public key: larger than 1024 bytes");
  wire::Reader in(bytes);
  BULWARK_READ(area, in.tpm2b(kMaxAkPublicBytes, "TPM2B_PUBLIC size"), "AK public key");
  if (Status s = in.at_end("TPM2B_PUBLIC"); !s.ok()) return s.error().wrap("AK public key");
  return parse_ak_public_area(*area);
}

std::vector<uint8_t> ak_public_file(std::span<const uint8_t> area) {
  std::vector<uint8_t> out;
  wire::put_tpm2b(out, area);
  return out;
}

Result<std::vector<uint8_t>> ak_name(const AkPublic& ak) {
  auto digests = measure(ak.area);
  if (!digests.ok()) return digests.error();
  std::vector<uint8_t> name;
  wire::put_u16(name, kAlgSha256);
  wire::put_bytes(name, digests->sha256);
  return name;
}

Result<std::vector<uint8_t>> ak_qualified_name(const AkPublic& ak) {
  auto name = ak_name(ak);
  if (!name.ok()) return name.error();
  std::vector<uint8_t> hashed;
  wire::put_u32(hashed, kTpmRhEndorsement);
  wire::put_bytes(hashed, *name);
  auto digests = measure(hashed);
  if (!digests.ok()) return digests.error();
  std::vector<uint8_t> qualified;
  wire::put_u16(qualified, kAlgSha256);
  wire::put_bytes(qualified, digests->sha256);
  return qualified;
}

Result<QuoteInfo> parse_quote_attest(std::span<const uint8_t> attest) {
  const char* what = "quote";
  if (attest.size() > kMaxAttestBytes) return Error("quote: larger than 1024 bytes");
  wire::Reader in(attest);
  QuoteInfo quote;
  BULWARK_READ(magic, in.u32("magic"), what);
  if (*magic != kTpmGeneratedValue) return Error("quote: magic is not TPM_GENERATED_VALUE (0xff544347)");
  BULWARK_READ(type, in.u16("type"), what);
  if (*type != kTpmStAttestQuote) return Error("quote: type " + hex16(*type) + " is not TPM_ST_ATTEST_QUOTE (0x8018)");
  BULWARK_READ(signer, in.tpm2b(wire::kMaxNameBytes, "qualifiedSigner"), what);
  quote.qualified_signer.assign(signer->begin(), signer->end());
  BULWARK_READ(extra, in.tpm2b(wire::kMaxDigestBytes, "extraData"), what);
  quote.extra_data.assign(extra->begin(), extra->end());
  BULWARK_READ(clock, in.u64("clock"), what);
  BULWARK_READ(resets, in.u32("resetCount"), what);
  BULWARK_READ(restarts, in.u32("restartCount"), what);
  BULWARK_READ(safe, in.u8("safe"), what);
  if (*safe > 1) return Error("quote: safe is " + std::to_string(*safe) + ", not a TPMI_YES_NO");
  BULWARK_READ(firmware, in.u64("firmwareVersion"), what);
  quote.clock = *clock;
  quote.reset_count = *resets;
  quote.restart_count = *restarts;
  quote.safe = *safe == 1;
  quote.firmware_version = *firmware;
  BULWARK_READ(banks, in.u32("pcrSelect count"), what);
  if (*banks > wire::kMaxPcrBanks) return Error("quote: " + std::to_string(*banks) + " PCR banks, at most 8");
  for (uint32_t i = 0; i < *banks; ++i) {
    BULWARK_READ(alg, in.u16("pcrSelect hash"), what);
    BULWARK_READ(size, in.u8("sizeofSelect"), what);
    if (*size > kMaxPcrSelectBytes) return Error("quote: sizeofSelect " + std::to_string(*size) + ", at most 3");
    BULWARK_READ(select, in.take(*size, "pcrSelect"), what);
    quote.pcr_select.push_back({*alg, std::vector<uint8_t>(select->begin(), select->end())});
  }
  BULWARK_READ(digest, in.tpm2b(wire::kMaxDigestBytes, "pcrDigest"), what);
  quote.pcr_digest.assign(digest->begin(), digest->end());
  if (Status s = in.at_end("quote"); !s.ok()) return s.error().wrap(what);
  return quote;
}

Result<EcdsaSignature> parse_quote_signature(std::span<const uint8_t> signature) {
  const char* what = "signature";
  if (signature.size() > kMaxSignatureBytes) return Error("signature: larger than 512 bytes");
  wire::Reader in(signature);
  BULWARK_READ(alg, in.u16("sigAlg"), what);
  if (*alg != kTpmAlgEcdsa) return Error("signature: sigAlg " + hex16(*alg) + " is not ECDSA (0x0018)");
  BULWARK_READ(hash, in.u16("hash"), what);
  if (*hash != kAlgSha256) return Error("signature: ECDSA with " + hex16(*hash) + ", not SHA-256");
  BULWARK_READ(r, in.tpm2b(kP256CoordinateBytes, "signatureR"), what);
  BULWARK_READ(s, in.tpm2b(kP256CoordinateBytes, "signatureS"), what);
  if (r->empty() || s->empty()) return Error("signature: an empty r or s");
  if (Status st = in.at_end("signature"); !st.ok()) return st.error().wrap(what);
  EcdsaSignature out;
  out.r.assign(r->begin(), r->end());
  out.s.assign(s->begin(), s->end());
  return out;
}

}  // namespace bulwark::attestation
