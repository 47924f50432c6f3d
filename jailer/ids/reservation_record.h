// The text a host-wide reservation lock file records about its holder: which launcher process
// holds it and for which VM. Other launchers read it only to explain a refusal or to log what
// they reclaimed, but a lock file may be left half-written by a crash or written by anyone who
// can write the run directory, so the parser treats it as untrusted.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "bulwark/common/result.h"

namespace bulwark::jailer {

// Largest record the parser accepts; readers never read more than this.
inline constexpr size_t kMaxReservationRecordBytes = 128;
inline constexpr size_t kMaxVmIdLength = 64;

struct ReservationRecord {
  pid_t pid = 0;
  std::string vm_id;
  bool operator==(const ReservationRecord&) const = default;
};

// A VM id names the VM in lock files, logs and labels: 1..64 of [A-Za-z0-9._-], not starting
// with '.' or '-'.
Status validate_vm_id(std::string_view vm_id);

// "pid=<decimal>\nvm=<vm id>\n", exactly.
std::string format_reservation_record(const ReservationRecord& record);

// Accepts only what format_reservation_record writes: a pid in 1..4194304 without sign or
// leading zeros, a valid VM id, both lines newline-terminated, nothing else.
Result<ReservationRecord> parse_reservation_record(std::string_view text);

}  // namespace bulwark::jailer
