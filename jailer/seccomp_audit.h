// Naming the system call that got a jailed process killed by seccomp. The kernel writes an
// audit record (type=1326) for every kill-process action; without auditd it reaches the kernel
// log, which the launcher (root) reads through /dev/kmsg. The record carries the host pid, so
// the launcher matches it against the child it started.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"
#include "jailer/seccomp_audit_record.h"  // SeccompAuditRecord, parse_seccomp_audit_record

namespace bulwark::jail {

// A reader of kernel log records written after it was opened.
class KernelLogCursor {
 public:
  // Positioned at the end of the log: only later records are seen.
  static Result<KernelLogCursor> open_at_end();
  // Looks for the seccomp kill record of `pid` for up to `wait` (the kernel's audit thread
  // prints it asynchronously, shortly after the kill).
  std::optional<SeccompAuditRecord> find_seccomp_kill(pid_t pid, std::chrono::milliseconds wait);

 private:
  explicit KernelLogCursor(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace bulwark::jail
