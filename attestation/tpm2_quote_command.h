// The TPM 2.0 commands of a quote (TPM 2.0 Library, Part 3), marshalled by hand like
// tpm2_command.h: TPM2_CreatePrimary of the attestation key (AK) from a fixed template,
// TPM2_Quote of PCRs 9 and 15 (SHA-256 bank) with a caller's nonce, TPM2_FlushContext. The
// launcher (after the measured launch) and `bulwark attest quote` (the operator) send them to a
// VM's swtpm; the only outside bytes marshalled are the nonce, a tenant's, bounded.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "bulwark/common/result.h"

namespace bulwark::attestation {

inline constexpr uint32_t kTpmCcCreatePrimary = 0x00000131;
inline constexpr uint32_t kTpmCcQuote = 0x00000158;
inline constexpr uint32_t kTpmCcFlushContext = 0x00000165;
inline constexpr uint32_t kTpmRhEndorsement = 0x4000000B;
inline constexpr uint16_t kTpmAlgEcc = 0x0023;
inline constexpr uint16_t kTpmAlgEcdsa = 0x0018;
inline constexpr uint16_t kTpmAlgNull = 0x0010;
inline constexpr uint16_t kTpmEccNistP256 = 0x0003;
inline constexpr uint32_t kTpmGeneratedValue = 0xFF544347;  // TPMS_ATTEST magic, "\xffTCG"
inline constexpr uint16_t kTpmStAttestQuote = 0x8018;

// TPMA_OBJECT of the AK: fixedTPM (bit 1), fixedParent (4), sensitiveDataOrigin (5),
// userWithAuth (6), restricted (16), sign (18) = 0x00050072, what tpm2_createak gives an AK.
// `restricted` is what makes a quote worth checking: such a key signs only digests the TPM
// computed itself, never a TPMS_ATTEST a caller made up.
inline constexpr uint32_t kTpmaFixedTpm = 1u << 1;
inline constexpr uint32_t kTpmaFixedParent = 1u << 4;
inline constexpr uint32_t kTpmaSensitiveDataOrigin = 1u << 5;
inline constexpr uint32_t kTpmaUserWithAuth = 1u << 6;
inline constexpr uint32_t kTpmaRestricted = 1u << 16;
inline constexpr uint32_t kTpmaSign = 1u << 18;
inline constexpr uint32_t kAkAttributes =
    kTpmaFixedTpm | kTpmaFixedParent | kTpmaSensitiveDataOrigin | kTpmaUserWithAuth | kTpmaRestricted | kTpmaSign;

// The PCRs a quote covers: the boot inputs and the isolation profile (launch_events.h).
inline constexpr uint32_t kQuotedPcrs[] = {9, 15};
// TPM2B_DATA holds at most sizeof(TPMU_HA), 64 bytes: the longest nonce a quote takes.
inline constexpr size_t kMaxNonceBytes = 64;

// The AK's template, a TPMT_PUBLIC (attestation/README.md "The attestation key"): ECC NIST
// P-256, nameAlg SHA-256, kAkAttributes, empty authPolicy, symmetric NULL, scheme ECDSA with
// SHA-256, kdf NULL, unique x and y empty. A primary key is derived from the hierarchy's seed
// and its template alone, so the same vTPM state gives the same AK on every CreatePrimary.
std::vector<uint8_t> ak_template();

// TPM2_CreatePrimary of ak_template() under the endorsement hierarchy (empty hierarchy auth,
// through TPM_RS_PW), with an empty userAuth and sensitive data, no outsideInfo, no creationPCR.
std::vector<uint8_t> create_ak_command();

// TPM2_Quote by `ak_handle` (empty auth through TPM_RS_PW) of kQuotedPcrs in the SHA-256 bank,
// qualifyingData `nonce` (1 to kMaxNonceBytes), inScheme NULL (the AK's own: ECDSA SHA-256).
Result<std::vector<uint8_t>> quote_command(uint32_t ak_handle, std::span<const uint8_t> nonce);

// TPM2_FlushContext of a transient object.
std::vector<uint8_t> flush_context_command(uint32_t handle);

}  // namespace bulwark::attestation
