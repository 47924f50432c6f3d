// Replays a parsed event log (event_log_parser.h) into the PCR values a TPM that saw the same
// extends would hold: per bank, PCR = H(PCR || digest) for each event in order, from all zero.
// The verifier compares the result with a quote's PCRs; the events are hostile input to it.
#pragma once

#include <array>
#include <bitset>
#include <span>

#include "attestation/event_log.h"
#include "bulwark/common/result.h"

namespace bulwark::attestation {

struct PcrValues {
  std::array<Sha256, kPcrCount> sha256{};
  std::array<Sha384, kPcrCount> sha384{};
  std::bitset<kPcrCount> extended;  // PCRs at least one event went into
  bool operator==(const PcrValues&) const = default;
};

// Refuses an event with a PCR index above 23 (the parser already does; events may come from
// elsewhere); otherwise fails only when OpenSSL does.
Result<PcrValues> replay_pcrs(std::span<const Event> events);

}  // namespace bulwark::attestation
