// Parses seccomp policy text (format: policy/seccomp/FORMAT.md) into a SeccompPolicy. Pure:
// files named by @include are fetched through a caller-supplied reader, and system call names
// can be checked by a caller-supplied callback, so this never makes a system call itself.
// Every error reads "FILE:LINE: message".
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "bulwark/common/result.h"
#include "policy/seccomp_policy/seccomp_policy.h"

namespace bulwark::policy {

// Returns the text of `name`, a bare file name from an @include line in the same directory
// as the including file (the parser has already refused '/', leading '.' and odd characters).
using IncludeReader = std::function<Result<std::string>(const std::string& name)>;

// Returns an error such as "unknown system call 'foo'" for names that cannot be filtered.
using SyscallNameCheck = std::function<Status(std::string_view name)>;

inline constexpr int kMaxIncludeDepth = 8;  // the top-level file is depth 0

// `file_name` is what error messages call the top-level file; an included file is called
// by the top-level file's directory part followed by its include name. An empty reader
// makes every @include an error; an empty name check accepts any well-formed name.
Result<SeccompPolicy> parse_seccomp_policy(std::string_view text, const std::string& file_name,
                                           const IncludeReader& read_include,
                                           const SyscallNameCheck& check_syscall_name = {});

}  // namespace bulwark::policy
