#include "jailer/vm_id.h"

#include "monitor/config/message_text.h"

namespace bulwark::jail {

namespace {
bool is_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}
}  // namespace

Status validate_vm_id(std::string_view id) {
  bool ok = !id.empty() && id.size() <= kMaxVmIdBytes;
  for (char c : id) ok = ok && is_id_char(c);
  if (ok) return ok_status();
  return Error("expected 1 to 64 characters from [A-Za-z0-9-], got " + config::quoted_text(id));
}

}  // namespace bulwark::jail
