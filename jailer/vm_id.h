// The VM id names the jail directory, the cgroup and the log prefix, so it must be a plain
// single path component: letters, digits and '-', 1 to 64 bytes.
#pragma once

#include <cstddef>
#include <string_view>

#include "bulwark/common/result.h"

namespace bulwark::jail {

inline constexpr size_t kMaxVmIdBytes = 64;

// Errors name no field: "expected 1 to 64 characters from [A-Za-z0-9-], got ...".
Status validate_vm_id(std::string_view id);

}  // namespace bulwark::jail
