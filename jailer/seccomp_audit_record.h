// The kernel's audit record of a seccomp kill (type=1326), parsed from one kernel log record.
// Pure text parsing, no system calls: it lives in the config library (bulwark_jail_config) so
// its fuzz target links nothing that touches the system; jailer/seccomp_audit.h reads the log.
#pragma once

#include <optional>
#include <string_view>

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

}  // namespace bulwark::jail
