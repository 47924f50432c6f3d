// Reads a crypto-agile event log (event_log.h). The bytes are hostile to the verifier that
// parses them: a log from a host or guest it does not trust, on any machine. Every length is
// checked as start + length against the bytes left before it is used, and each refusal names
// the event and the field.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "attestation/event_log.h"
#include "bulwark/common/result.h"

namespace bulwark::attestation {

// The events after the Spec ID header, in order. Refused: a header other than the one
// EventLogWriter writes (its banks in either order, any errata, vendor info and platform class
// 0 or 1 allowed), an algorithm other than SHA-256 and SHA-384, an event whose digests are not
// exactly the header's banks, a field running past the end, a PCR above 23, an event type this
// log does not use, event data above kMaxEventDataBytes, more than kMaxEvents events, bytes
// after the last event.
Result<std::vector<Event>> parse_event_log(std::span<const uint8_t> log);

}  // namespace bulwark::attestation
