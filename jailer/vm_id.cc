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

Status validate_jail_name(std::string_view name) {
  const size_t dot = name.find('.');
  if (dot == std::string_view::npos) return validate_vm_id(name);
  BULWARK_TRY(validate_vm_id(name.substr(0, dot)));
  const std::string_view suffix = name.substr(dot + 1);
  bool ok = !suffix.empty() && suffix.size() <= 8 && name.size() <= kMaxVmIdBytes;
  for (char c : suffix) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
  if (ok) return ok_status();
  return Error("expected a VM id, '.' and 1 to 8 of [a-z0-9], at most 64 bytes, got " +
               config::quoted_text(name));
}

}  // namespace bulwark::jail
