// Label memory: the record kept on every file the launcher relabels that it did not create (a
// tenant's disk image, kernel, initrd), in the trusted xattr `trusted.bulwark.label`
// (policy/selinux/LABELS.md). Only CAP_SYS_ADMIN can set trusted.* attributes, so a tenant
// cannot forge one, but the file is the tenant's and a crash can leave anything: the parser
// accepts only what format_label_record writes and is fuzzed (fuzz/label_memory_record).
//
//   bulwark-label 1
//   original=system_u:object_r:var_t:s0      the context before Bulwark's first relabel
//                                            ("original=" alone: the file had none)
//   label=system_u:object_r:bulwark_content_t:s0     the context Bulwark set for the users
//   user=vm-a ro-shared                      one line per running VM using the file:
//   user=vm-b ro-shared                      its id and access (rw | ro | ro-shared)
//
// Every line is newline-terminated; users are listed in the order they came, each VM id once.
// The reference count is the number of user lines: there is no second count anywhere (the image
// lock's holder records defer to this one while labelling is on, jailer/README.md). A record
// with no user is never stored: the last user's end restores `original` and removes the xattr.
//
// No system dependency (libc strings only), so the fuzz target links nothing else.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/common/result.h"

namespace bulwark::jailer {

inline constexpr const char* kLabelRecordXattr = "trusted.bulwark.label";
// Largest record accepted (also what the reader asks for at most); VFS xattr values stop at 64 KiB.
inline constexpr size_t kMaxLabelRecordBytes = 64 * 1024;
inline constexpr size_t kMaxLabelRecordUsers = 512;
inline constexpr size_t kMaxLabelContextBytes = 255;

enum class LabelAccess { kReadWrite, kReadOnly, kReadOnlyShared };

// "rw", "ro", "ro-shared" (the record's words) and "read-write", "read-only", "read-only,
// shared" (messages).
std::string_view label_access_word(LabelAccess access);
std::string_view label_access_description(LabelAccess access);

struct LabelUser {
  std::string vm_id;
  LabelAccess access = LabelAccess::kReadWrite;
  bool operator==(const LabelUser&) const = default;
};

struct LabelRecord {
  std::optional<std::string> original;  // nullopt: the file had no security.selinux
  std::string label;
  std::vector<LabelUser> users;
  bool operator==(const LabelRecord&) const = default;

  const LabelUser* find(std::string_view vm_id) const;
  // Removes `vm_id`'s line; true when there was one.
  bool remove(std::string_view vm_id);
};

// A context as the record holds it: 1..255 bytes of [A-Za-z0-9_:.,-] (user:role:type:level,
// MCS ranges included), no NUL, no space.
Status validate_label_context(std::string_view context);
// A VM id as a user line holds it: 1..64 of [A-Za-z0-9._-], not starting with '.' or '-' (the
// reservation files' rule, a superset of jailer/vm_id.h's).
Status validate_label_user_id(std::string_view vm_id);

// Refuses (without writing) a record that parse_label_record would refuse: an invalid context
// or id, a duplicate id, no users or too many.
Result<std::string> format_label_record(const LabelRecord& record);
Result<LabelRecord> parse_label_record(std::string_view text);

}  // namespace bulwark::jailer
