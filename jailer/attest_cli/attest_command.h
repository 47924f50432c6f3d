// `bulwark attest quote|verify|reference` (issue 16): the quote of a running VM's vTPM and its
// check away from the host.
//   quote      the operator's (root, on the host): asks the VM's swtpm for a quote of PCRs 9 and
//              15 with the tenant's nonce and writes the evidence to a directory
//   verify     the tenant's (unprivileged, any machine, no TPM): checks that evidence, hostile
//              input from a host the tenant does not trust, against the nonce and a reference
//   reference  the tenant's: a reference file from the tenant's own kernel, initrd, command line,
//              policies and binaries
#pragma once

#include <cstdio>
#include <string_view>
#include <vector>

namespace bulwark::attest_cli {

inline constexpr int kAttestExitOk = 0;
inline constexpr int kAttestExitRefused = 1;  // verify: a check failed
inline constexpr int kAttestExitUsage = 2;
inline constexpr int kAttestExitError = 3;  // files unreadable, TPM unreachable, ...

// `args` are the words after `bulwark attest`.
int run_attest_command(const std::vector<std::string_view>& args, std::FILE* out = stdout, std::FILE* err = stderr);

int run_attest_quote(const std::vector<std::string_view>& args, std::FILE* out, std::FILE* err);
int run_attest_verify(const std::vector<std::string_view>& args, std::FILE* out, std::FILE* err);
int run_attest_reference(const std::vector<std::string_view>& args, std::FILE* out, std::FILE* err);

}  // namespace bulwark::attest_cli
