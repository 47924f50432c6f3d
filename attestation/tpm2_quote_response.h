// Parses a VM's swtpm's answers to the quote's commands (tpm2_quote_command.h). swtpm runs as
// the VM's uid and serves the guest, so the launcher and `bulwark attest quote` treat them as
// hostile, as tpm2_response.h does: the header's size is what arrived, every field is read as
// start + length against what is left, the parameters end exactly at parameterSize and the
// session area after them. Fuzz target attestation_tpm2_response.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "attestation/tpm2_quote_structures.h"
#include "bulwark/common/result.h"

namespace bulwark::attestation {

struct CreatedAk {
  uint32_t handle = 0;  // a transient object's (0x80xxxxxx)
  AkPublic ak;          // outPublic, checked to be the AK's shape (parse_ak_public_area)
  std::vector<uint8_t> name;
};

// TPM2_CreatePrimary's: the object handle, the parameters (outPublic, creationData,
// creationHash, creationTicket, name) and the password session's answer. The name must be the
// one the public area hashes to, and the public area must be the template's key.
Result<CreatedAk> parse_create_ak_response(std::span<const uint8_t> bytes);

struct QuoteResponse {
  std::vector<uint8_t> attest;     // TPMS_ATTEST, as signed (parse_quote_attest checks it)
  std::vector<uint8_t> signature;  // TPMT_SIGNATURE, as marshalled (parse_quote_signature)
};

// TPM2_Quote's: quoted (TPM2B_ATTEST, at most kMaxAttestBytes) and the signature, both parsed
// to be well formed, then the session's answer.
Result<QuoteResponse> parse_quote_response(std::span<const uint8_t> bytes);

// TPM2_FlushContext's: success, exactly the header.
Status parse_flush_context_response(std::span<const uint8_t> bytes);

}  // namespace bulwark::attestation
