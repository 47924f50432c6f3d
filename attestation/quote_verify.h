// `bulwark attest verify`'s checks, on a tenant's machine, without a TPM: the evidence (quote,
// signature, AK public key, event log, PCR values) comes from a host the tenant does not trust
// and is parsed as hostile (tpm2_quote_structures.h, event_log_parser.h); the nonce and the
// reference are the tenant's. Each check gets a verdict of its own; the evidence verifies only
// when every check passes.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "attestation/launch_reference.h"

namespace bulwark::attestation {

struct Evidence {
  std::vector<uint8_t> attest;               // quote.msg: TPMS_ATTEST
  std::vector<uint8_t> signature;            // quote.sig: TPMT_SIGNATURE
  std::vector<uint8_t> ak_public;            // ak.pub: TPM2B_PUBLIC
  std::vector<uint8_t> event_log;            // eventlog.bin
  std::optional<std::vector<uint8_t>> pcrs;  // pcrs: SHA-256 of PCR 9 then PCR 15, if present
};

struct Check {
  std::string name;  // "signature", "nonce", "pcr-selection", "replay", "reference kernel", ...
  bool passed = false;
  bool checked = true;  // false: informational (an item the reference does not name)
  std::string detail;
};

struct Verdict {
  std::vector<Check> checks;
  bool passed() const;
};

// The checks, in order: ak (the public area is an ECC P-256 restricted signing key), quote
// (the TPMS_ATTEST parses), signature (ECDSA over SHA-256 of the quote with the AK), signer (the
// quote's qualifiedSigner is the AK's qualified name under the endorsement hierarchy), nonce
// (extraData equals `nonce`), pcr-selection (the SHA-256 bank, PCRs 9 and 15 alone), eventlog
// (parses, only the events of a launch), replay (SHA-256 of the log's replayed PCR 9 and 15 is
// the quote's pcrDigest), pcrs (when the file is there: its values hash to pcrDigest) and, with a
// reference, one "reference <item>" check per item (launch_reference.h). A check that cannot run
// because an earlier one failed is reported failed, saying what it depended on.
Verdict verify_evidence(const Evidence& evidence, std::span<const uint8_t> nonce, const Reference* reference);

}  // namespace bulwark::attestation
