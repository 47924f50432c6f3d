// Reservation records are read from lock files anyone with write access to the run directory,
// or a launcher that crashed mid-write, may have left in any state. The parser must reject
// garbage precisely, and whatever it accepts must be exactly what the formatter writes.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "jailer/ids/reservation_record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto record = bulwark::jailer::parse_reservation_record(text);
  if (!record) {
    if (record.error().message().empty()) std::abort();
    return 0;
  }
  if (record->pid <= 0 || !bulwark::jailer::validate_vm_id(record->vm_id)) std::abort();
  // Accepted records round-trip byte for byte: no two texts mean the same record.
  if (bulwark::jailer::format_reservation_record(*record) != text) std::abort();
  return 0;
}
