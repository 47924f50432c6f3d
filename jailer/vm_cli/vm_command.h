// `bulwark vm info|pause|resume|stop|metrics|policy --api-sock PATH`: the operator's commands to
// one running VM, through its API socket (bulwark-api, Firecracker's API). The answers come from
// a jailed process that may be compromised: they are bounded, checked and escaped before they
// reach the operator's terminal (api_client.h, terminal_text.h).
#pragma once

#include <cstdio>
#include <string_view>
#include <vector>

namespace bulwark::vm_cli {

// Exit codes.
inline constexpr int kVmExitOk = 0;
inline constexpr int kVmExitUsage = 1;     // bad command line
inline constexpr int kVmExitApiError = 2;  // the API answered with an error status
inline constexpr int kVmExitNoAnswer = 3;  // cannot connect, timeout, malformed answer

// `args` are the words after `bulwark vm`. Prints results to stdout and errors to stderr.
int run_vm_command(const std::vector<std::string_view>& args);

// The same, printing to `out` and `err` (tests capture them).
int run_vm_command(const std::vector<std::string_view>& args, std::FILE* out, std::FILE* err);

}  // namespace bulwark::vm_cli
