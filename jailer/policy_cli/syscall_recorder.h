// `bulwark policy record -- COMMAND`: runs COMMAND and every process it starts under ptrace and
// counts the seccomp record-mode stops (ViolationAction::kRecord) of each: which policy and
// which rule alternative matched which system call. Processes that install no record-mode
// filter run untouched apart from being traced.
#pragma once

#include <string>
#include <vector>

#include "bulwark/common/result.h"
#include "jailer/policy_cli/syscall_usage.h"

namespace bulwark::policy_cli {

struct RecordedRun {
  int exit_status = 0;  // COMMAND's exit code, or 128 + the signal that killed it
  uint64_t stops = 0;   // record-mode stops seen
};

// Runs argv[0] (searched in PATH) with argv, adds what it saw to `usage` and returns when
// COMMAND has exited and every process it started is gone. Error when COMMAND cannot be
// started or traced.
Result<RecordedRun> record_syscalls(const std::vector<std::string>& argv, SyscallUsage& usage);

}  // namespace bulwark::policy_cli
