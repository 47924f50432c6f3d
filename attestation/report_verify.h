// `bulwark attest verify --report R --host-key PUB.pem`'s checks of a launch report against the
// quote's evidence (quote_verify.h), on the tenant's machine. The report and its signature come
// from the host (hostile: launch_report.h parses them); the host's public key is the tenant's.
// Each check is a verdict line of its own:
//   report signature  the host key's ECDSA P-384 signature over the report's bytes
//   report            the report parses (version 1, every field well-formed)
//   report event log  the report's event log is byte for byte the quoted evidence's
//   report PCRs       the report's PCR values are its log's replay, both banks, and its SHA-256
//                     PCRs 9 and 15 are the replay of the evidence's log (so, with "replay"
//                     passed, the quoted PCRs)
//   report items      the report's items are the log's items (name, PCR, SHA-256), and each
//                     item's text hashes to its digest
//   report selinux    the per-launch rule for the "selinux <process>" items: every one "off", or
//                     every one at the same MCS pair s0:cA,cB (A < B), none at another level
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "attestation/quote_verify.h"

namespace bulwark::attestation {

struct ReportEvidence {
  std::vector<uint8_t> report;     // launch-report.json's bytes (what was signed)
  std::vector<uint8_t> signature;  // DER
  std::string host_key_pem;
};

// GET /attestation's body {"report": {...}, "signature": "<base64>"} (hostile, from the host's
// API): the report's bytes as signed (the object serialized compact, keys sorted, as the
// launcher wrote it) and the DER signature.
struct SignedReportBytes {
  std::vector<uint8_t> report;
  std::vector<uint8_t> signature;
};
Result<SignedReportBytes> split_attestation_body(std::string_view json);

std::vector<Check> verify_report(const ReportEvidence& evidence, std::span<const uint8_t> quoted_event_log);

// The MCS rule on one context text: "off", or user:role:type:s0:cA,cB; `pair` gets "cA,cB".
bool selinux_context_follows_rule(const std::string& context, std::string& pair);

}  // namespace bulwark::attestation
