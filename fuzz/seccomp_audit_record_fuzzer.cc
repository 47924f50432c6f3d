// Kernel log records are kernel text, but they quote names a jailed process chose (comm=, exe=).
// The parser must never read outside the record and must only accept records with every field.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "jailer/seccomp_audit_record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto record = bulwark::jail::parse_seccomp_audit_record(text);
  if (record && text.find("type=1326") == std::string_view::npos) std::abort();
  return 0;
}
