// A classic-BPF interpreter for seccomp programs, so tests can ask what a compiled policy
// decides for a given system call without installing it.
#pragma once

#include <linux/audit.h>
#include <linux/filter.h>

#include <array>
#include <cstdint>
#include <span>

#include "bulwark/common/result.h"

namespace bulwark::policy::testing {

struct SeccompCall {
  int nr = 0;
  std::array<uint64_t, 6> args{};
  uint32_t arch = AUDIT_ARCH_X86_64;
};

// The SECCOMP_RET_* value the program returns for `call`, or an error if the program does
// something the kernel's checker would refuse (bad opcode, jump or load offset).
Result<uint32_t> run_seccomp_program(std::span<const sock_filter> program,
                                     const SeccompCall& call);

}  // namespace bulwark::policy::testing
