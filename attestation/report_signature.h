// The host's signature over a launch report (launch_report.h): ECDSA P-384 over SHA-384 of the
// report's bytes, the signature DER-encoded (ECDSA-Sig-Value, what `openssl dgst -sha384 -sign`
// writes and `openssl dgst -sha384 -verify PUB.pem -signature SIG` checks). The private key is
// the operator's (a PEM file the launcher reads, jailer/tpm_report_key.h); the public key is
// given to the verifier by the tenant (PEM), and the signature comes from the host: hostile.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/common/result.h"

namespace bulwark::attestation {

inline constexpr size_t kMaxReportSignatureBytes = 256;  // a P-384 DER signature is at most 104
inline constexpr size_t kMaxKeyPemBytes = 64 * 1024;

// `private_pem`: a PEM private key (PKCS#8 or "EC PRIVATE KEY") on NIST P-384; anything else refused.
Result<std::vector<uint8_t>> sign_report(std::string_view private_pem, std::span<const uint8_t> report);
// `public_pem`: a PEM SubjectPublicKeyInfo on NIST P-384. ok when `signature` is its signature
// of `report`; the error says why not.
Status verify_report_signature(std::string_view public_pem, std::span<const uint8_t> report,
                               std::span<const uint8_t> signature);
// The public key of `private_pem`, as PEM (what the operator hands tenants; tests).
Result<std::string> report_public_key_pem(std::string_view private_pem);

}  // namespace bulwark::attestation
