#include "attestation/tpm2_quote_command.h"

#include <string>

#include "attestation/tpm2_command.h"
#include "attestation/tpm2_wire.h"

namespace bulwark::attestation {

namespace {

using namespace wire;

// The authorization area of one password session with an empty password.
void put_password_session(std::vector<uint8_t>& out) {
  put_u32(out, 4 + 2 + 1 + 2);
  put_u32(out, kTpmRsPw);
  put_u16(out, 0);
  put_u8(out, 0);
  put_u16(out, 0);
}

}  // namespace

std::vector<uint8_t> ak_template() {
  std::vector<uint8_t> out;
  put_u16(out, kTpmAlgEcc);       // type
  put_u16(out, kAlgSha256);       // nameAlg
  put_u32(out, kAkAttributes);    // objectAttributes
  put_u16(out, 0);                // authPolicy: none
  put_u16(out, kTpmAlgNull);      // TPMS_ECC_PARMS.symmetric: none (a signing key)
  put_u16(out, kTpmAlgEcdsa);     // scheme ECDSA
  put_u16(out, kAlgSha256);       //   with SHA-256
  put_u16(out, kTpmEccNistP256);  // curveID
  put_u16(out, kTpmAlgNull);      // kdf
  put_u16(out, 0);                // unique.x: empty
  put_u16(out, 0);                // unique.y: empty
  return out;
}

std::vector<uint8_t> create_ak_command() {
  std::vector<uint8_t> out = begin_command(kTpmStSessions, kTpmCcCreatePrimary);
  put_u32(out, kTpmRhEndorsement);
  put_password_session(out);
  put_u16(out, 4);  // TPM2B_SENSITIVE_CREATE: userAuth and data, both empty
  put_u16(out, 0);
  put_u16(out, 0);
  put_tpm2b(out, ak_template());  // inPublic
  put_u16(out, 0);                // outsideInfo
  put_u32(out, 0);                // creationPCR: none
  return finish_command(std::move(out));
}

Result<std::vector<uint8_t>> quote_command(uint32_t ak_handle, std::span<const uint8_t> nonce) {
  if (nonce.empty() || nonce.size() > kMaxNonceBytes) {
    return Error("TPM2_Quote: a nonce of " + std::to_string(nonce.size()) + " bytes (1 to 64)");
  }
  std::vector<uint8_t> out = begin_command(kTpmStSessions, kTpmCcQuote);
  put_u32(out, ak_handle);
  put_password_session(out);
  put_tpm2b(out, nonce);      // qualifyingData
  put_u16(out, kTpmAlgNull);  // inScheme: the key's
  put_u32(out, 1);            // PCRselect: one bank
  put_u16(out, kAlgSha256);
  put_u8(out, kTpmPcrSelectBytes);
  uint8_t select[kTpmPcrSelectBytes] = {};
  for (uint32_t pcr : kQuotedPcrs) select[pcr / 8] = static_cast<uint8_t>(select[pcr / 8] | (1u << (pcr % 8)));
  for (uint8_t byte : select) put_u8(out, byte);
  return finish_command(std::move(out));
}

std::vector<uint8_t> flush_context_command(uint32_t handle) {
  std::vector<uint8_t> out = begin_command(kTpmStNoSessions, kTpmCcFlushContext);
  put_u32(out, handle);
  return finish_command(std::move(out));
}

}  // namespace bulwark::attestation
