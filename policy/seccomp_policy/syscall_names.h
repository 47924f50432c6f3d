// x86-64 system call names, resolved with libseccomp's table.
#pragma once

#include <string>
#include <string_view>

#include "bulwark/common/result.h"

namespace bulwark::policy {

// The x86-64 system call number for `name`, or "unknown system call 'name' on x86-64".
Result<int> resolve_x86_64_syscall(std::string_view name);

// The name of x86-64 system call `number` ("socket"), or "syscall <number>" when libseccomp
// does not know it.
std::string x86_64_syscall_name(long number);

// The same check in the shape of a SyscallNameCheck (policy_text.h).
Status check_x86_64_syscall_name(std::string_view name);

}  // namespace bulwark::policy
