// Naming the system call that got a jailed process killed by seccomp. The kernel writes an
// audit record (type=1326) for every kill-process action; without auditd it reaches the kernel
// log, which the launcher (root) reads through /dev/kmsg. The record carries the host pid, so
// the launcher matches it against the child it started.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string_view>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"

namespace bulwark::jail {

struct SeccompAuditRecord {
  long pid = 0;
  long signal = 0;
  long syscall = 0;
  unsigned long arch = 0;  // AUDIT_ARCH_* (0xc000003e: x86-64)
};

// Parses one kernel log record ("6,1234,5678,-;audit: type=1326 audit(...): ... pid=N ...
// sig=31 arch=c000003e syscall=41 ..."). Fields are whole space-separated tokens, so text a
// process chose (comm=, exe=: quoted, or hex-encoded by the kernel when they hold spaces)
// cannot pose as one. nullopt for any other record or a malformed one.
std::optional<SeccompAuditRecord> parse_seccomp_audit_record(std::string_view record);

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
