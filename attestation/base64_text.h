// Standard base64 (RFC 4648 section 4, with padding) for the launch report's event log and the
// signature GET /attestation returns. Decoding is of hostile text (a report from a host the
// verifier does not trust): strict, no whitespace, canonical padding, bounded by `max_bytes`.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/common/result.h"

namespace bulwark::attestation {

std::string to_base64(std::span<const uint8_t> bytes);
Result<std::vector<uint8_t>> parse_base64(std::string_view text, size_t max_bytes);

}  // namespace bulwark::attestation
