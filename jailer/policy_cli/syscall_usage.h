// What `bulwark policy record` saw: how often each rule alternative of each process policy
// matched a real system call, and which calls matched none. Kept in a small text file so that
// several recorded runs add up (`--append`) before `bulwark policy minimality` reads them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>

#include "bulwark/common/result.h"

namespace bulwark::policy_cli {

struct UsageKey {
  std::string policy_file;  // "monitor-vcpu.policy", or "other" for a policy without an id
  unsigned slot = 0;        // policy_recording.h; 0: matched no rule (killed under enforce)
  std::string syscall;      // the call that was made, e.g. "ioctl"

  auto operator<=>(const UsageKey&) const = default;
};

using SyscallUsage = std::map<UsageKey, uint64_t>;  // -> number of calls

inline constexpr const char* kOtherPolicyName = "other";

// One line per key: "FILE SLOT SYSCALL COUNT", after a comment header.
std::string format_syscall_usage(const SyscallUsage& usage);

// Adds the counts in `text` to `usage`. Errors name the line.
Status parse_syscall_usage(std::string_view text, SyscallUsage& usage);

}  // namespace bulwark::policy_cli
