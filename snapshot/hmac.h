// HMAC-SHA-256 over a sequence of byte ranges (OpenSSL EVP_MAC), and the constant-time compare
// every MAC check goes through. Keys come from state_key (the launcher's); the bytes are a
// snapshot's (the host's, untrusted until their MAC has been checked).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>

#include "bulwark/common/result.h"

namespace bulwark::snapshot {

inline constexpr size_t kMacBytes = 32;
using Mac = std::array<uint8_t, kMacBytes>;

// The MAC of the concatenation of `parts` under `key`. Fails only when OpenSSL does.
Result<Mac> hmac_sha256(std::span<const uint8_t> key,
                        std::initializer_list<std::span<const uint8_t>> parts);

// Constant-time (CRYPTO_memcmp): a forger learns nothing from how long a refusal took.
// Different sizes compare unequal.
bool macs_equal(std::span<const uint8_t> a, std::span<const uint8_t> b);

}  // namespace bulwark::snapshot
