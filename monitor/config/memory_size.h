// Memory sizes as a QEMU or Firecracker user types them: "512", "512M", "512MiB", "2G", "2GiB",
// "1T". A bare number is MiB; units are binary and case-insensitive ("2g" too).
#pragma once

#include <cstdint>
#include <string_view>

#include "bulwark/common/result.h"

namespace bulwark::config {

// The size in MiB, kMinMemoryMib .. kMaxMemoryMib. Errors name the input, e.g.
// `expected a size like 512, 512M or 2G (MiB if no unit), got "lots"`.
Result<uint64_t> parse_memory_size_mib(std::string_view text);

}  // namespace bulwark::config
