// Reads a snapshot state file (state_format.h) -- the host's bytes, possibly a tampered file or
// a compromised host's stream -- into a SnapshotState, checked against the restoring VM's
// config. Nothing is read before the length and the MAC are checked; every field after that is
// bounds-checked and validated, and each refusal names the field.
#pragma once

#include <cstdint>
#include <span>

#include "bulwark/common/result.h"
#include "snapshot/state_format.h"

namespace bulwark::snapshot {

// Length, then the trailer MAC under the key (constant-time compare). The launcher or a
// migration process runs this; the key never enters the monitor.
Status verify_state_mac(std::span<const uint8_t> file, const StateKey& key);

// verify_state_mac, then parse_verified_state, and the key's VM id is the expected one.
Result<SnapshotState> parse_state(std::span<const uint8_t> file, const StateKey& key,
                                  const Expectations& expect);

// The body checks alone, for bytes whose MAC the caller has already checked (the jailed
// monitor, handed a sealed copy the launcher verified). Never call it on unverified bytes.
Result<SnapshotState> parse_verified_state(std::span<const uint8_t> file, const Expectations& expect);

}  // namespace bulwark::snapshot
