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

// A jail's name: a VM id (the monitor's jail), or a VM id, '.', and 1 to 8 of [a-z0-9] (a device
// process's jail, e.g. "vm-1.blk0"). '.' never occurs in a VM id, so no VM's jail can share a
// name with another VM's device jail. At most 64 bytes in all.
Status validate_jail_name(std::string_view name);

}  // namespace bulwark::jail
