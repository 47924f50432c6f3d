// Checks a quote's ECDSA P-256 signature with the AK's public key (OpenSSL), and writes that key
// as PEM. The verifier's side: the key, the message and the signature come from a host the
// tenant does not trust and are already parsed and bounded (tpm2_quote_structures.h); OpenSSL
// then checks that the point is on the curve.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "attestation/tpm2_quote_structures.h"
#include "bulwark/common/result.h"

namespace bulwark::attestation {

// ok when `signature` is the AK's ECDSA signature over SHA-256(`message`); an error says why not
// ("does not verify", "the AK's point is not on P-256", ...).
Status verify_quote_signature(const AkPublic& ak, std::span<const uint8_t> message, const EcdsaSignature& signature);

// The AK's public key as a PEM SubjectPublicKeyInfo ("-----BEGIN PUBLIC KEY-----").
Result<std::string> ak_public_pem(const AkPublic& ak);

}  // namespace bulwark::attestation
