// The three TPM 2.0 structures a quote's verifier reads (TPM 2.0 Library, Part 2): the AK's
// public area (TPMT_PUBLIC, in a file as TPM2B_PUBLIC, the way tpm2-tools writes it), the quote
// (TPMS_ATTEST, tpm2_quote's "message") and its signature (TPMT_SIGNATURE, tpm2-tools' "tpm2"
// signature format). A tenant's verifier gets them from a host it does not trust: every field is
// read as start + length against what is left, sizes are held to the structure's own maxima, and
// only the shapes a Bulwark quote has are accepted (an ECC P-256 restricted signing key, ECDSA
// with SHA-256, a quote of the SHA-256 bank). Fuzz target attestation_quote.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "bulwark/common/result.h"

namespace bulwark::attestation {

// Largest files a verifier reads: far above what a Bulwark quote has (the AK's area is ~90 bytes,
// the quote ~150, the signature ~72) and below any TPM's buffer.
inline constexpr size_t kMaxAkPublicBytes = 1024;
inline constexpr size_t kMaxAttestBytes = 1024;
inline constexpr size_t kMaxSignatureBytes = 512;
inline constexpr size_t kP256CoordinateBytes = 32;

struct AkPublic {
  std::vector<uint8_t> area;  // the TPMT_PUBLIC as marshalled: what the AK's name hashes
  uint32_t attributes = 0;
  std::vector<uint8_t> x, y;  // the point, each at most 32 bytes (big endian)
};

// A TPMT_PUBLIC, nothing after it. Refused besides a malformed area: a type other than ECC, a
// nameAlg other than SHA-256, a key that is not restricted, sign-only and fixedTPM, a symmetric
// algorithm or kdf other than NULL, a scheme other than ECDSA with SHA-256, a curve other than
// NIST P-256, a coordinate of more than 32 bytes, an authPolicy over 64 bytes.
Result<AkPublic> parse_ak_public_area(std::span<const uint8_t> area);
// A TPM2B_PUBLIC (u16 size, the area): a file `tpm2_createak -u` or `bulwark attest quote` wrote.
Result<AkPublic> parse_ak_public_file(std::span<const uint8_t> bytes);
// TPM2B_PUBLIC bytes of an area.
std::vector<uint8_t> ak_public_file(std::span<const uint8_t> area);
// The AK's TPM name: nameAlg (0x000B) then SHA-256 of the area, 34 bytes.
Result<std::vector<uint8_t>> ak_name(const AkPublic& ak);
// Its qualified name as a primary key of the endorsement hierarchy, what a quote's
// qualifiedSigner holds: 0x000B then SHA-256(TPM_RH_ENDORSEMENT as 4 bytes || name) (Part 1,
// "Qualified Name": a hierarchy's qualified name is its handle).
Result<std::vector<uint8_t>> ak_qualified_name(const AkPublic& ak);

struct PcrSelection {
  uint16_t alg = 0;
  std::vector<uint8_t> select;  // the bitmap, at most 3 bytes (PCRs 0-23)
};

struct QuoteInfo {
  std::vector<uint8_t> qualified_signer;  // the signing key's name
  std::vector<uint8_t> extra_data;        // the caller's nonce
  uint64_t clock = 0;
  uint32_t reset_count = 0;
  uint32_t restart_count = 0;
  bool safe = false;
  uint64_t firmware_version = 0;
  std::vector<PcrSelection> pcr_select;  // at most 8 banks
  std::vector<uint8_t> pcr_digest;       // the hash of the selected PCRs' values, in order
};

// A TPMS_ATTEST of type TPM_ST_ATTEST_QUOTE with TPM_GENERATED_VALUE, nothing after it.
// Sizes: name at most 66 bytes, extraData and pcrDigest at most 64, at most 8 banks.
Result<QuoteInfo> parse_quote_attest(std::span<const uint8_t> attest);

struct EcdsaSignature {
  std::vector<uint8_t> r, s;  // each at most 32 bytes
};

// A TPMT_SIGNATURE with sigAlg ECDSA and hash SHA-256, nothing after it.
Result<EcdsaSignature> parse_quote_signature(std::span<const uint8_t> signature);

}  // namespace bulwark::attestation
