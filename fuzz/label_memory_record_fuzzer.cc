// A label memory record (jailer/svirt/label_record.h): the trusted.bulwark.label xattr the
// launcher reads from a tenant's image, kernel or initrd before it relabels or restores it. Only
// root can write trusted.* attributes, but the file is the tenant's and a crash can leave any
// state: the parser must refuse garbage with a reason, and whatever it accepts must be exactly
// what the formatter writes (no two texts mean the same record), with valid contexts, valid and
// distinct VM ids and at least one user.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "jailer/svirt/label_record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bulwark::jailer;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto record = parse_label_record(text);
  if (!record.ok()) {
    if (record.error().message().empty()) std::abort();
    return 0;
  }
  if (record->users.empty() || record->users.size() > kMaxLabelRecordUsers) std::abort();
  if (!validate_label_context(record->label).ok()) std::abort();
  if (record->original && !validate_label_context(*record->original).ok()) std::abort();
  for (size_t i = 0; i < record->users.size(); ++i) {
    if (!validate_label_user_id(record->users[i].vm_id).ok()) std::abort();
    for (size_t j = 0; j < i; ++j) {
      if (record->users[j].vm_id == record->users[i].vm_id) std::abort();
    }
  }
  auto again = format_label_record(*record);
  if (!again.ok() || *again != text) std::abort();
  // Dropping a user keeps a record the formatter accepts, or leaves none to store.
  LabelRecord fewer = *record;
  fewer.remove(fewer.users.front().vm_id);
  if (fewer.users.empty() != !format_label_record(fewer).ok()) std::abort();
  return 0;
}
