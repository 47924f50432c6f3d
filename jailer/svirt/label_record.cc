#include "jailer/svirt/label_record.h"

#include <algorithm>

namespace bulwark::jailer {

namespace {

constexpr std::string_view kHeader = "bulwark-label 1";
constexpr size_t kMaxVmIdBytes = 64;

bool is_context_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == ':' || c == '.' || c == ',' || c == '-';
}

// The printable form of untrusted bytes for a message: at most 40 of them, others as \xNN.
std::string shown(std::string_view text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size() && i < 40; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (text.size() > 40) out += "...";
  return out + "\"";
}

std::optional<LabelAccess> parse_access(std::string_view word) {
  if (word == "rw") return LabelAccess::kReadWrite;
  if (word == "ro") return LabelAccess::kReadOnly;
  if (word == "ro-shared") return LabelAccess::kReadOnlyShared;
  return std::nullopt;
}

Status check_users(const std::vector<LabelUser>& users) {
  if (users.empty()) return Error("no user (a record without users is never stored)");
  if (users.size() > kMaxLabelRecordUsers) {
    return Error("more than " + std::to_string(kMaxLabelRecordUsers) + " users");
  }
  for (size_t i = 0; i < users.size(); ++i) {
    BULWARK_TRY(validate_label_user_id(users[i].vm_id));
    for (size_t j = 0; j < i; ++j) {
      if (users[j].vm_id == users[i].vm_id) return Error("VM " + users[i].vm_id + " is listed twice");
    }
  }
  return ok_status();
}

}  // namespace

std::string_view label_access_word(LabelAccess access) {
  switch (access) {
    case LabelAccess::kReadWrite: return "rw";
    case LabelAccess::kReadOnly: return "ro";
    case LabelAccess::kReadOnlyShared: return "ro-shared";
  }
  return "?";
}

std::string_view label_access_description(LabelAccess access) {
  switch (access) {
    case LabelAccess::kReadWrite: return "read-write";
    case LabelAccess::kReadOnly: return "read-only";
    case LabelAccess::kReadOnlyShared: return "read-only, shared";
  }
  return "?";
}

const LabelUser* LabelRecord::find(std::string_view vm_id) const {
  for (const LabelUser& user : users) {
    if (user.vm_id == vm_id) return &user;
  }
  return nullptr;
}

bool LabelRecord::remove(std::string_view vm_id) {
  const auto it = std::find_if(users.begin(), users.end(),
                               [vm_id](const LabelUser& user) { return user.vm_id == vm_id; });
  if (it == users.end()) return false;
  users.erase(it);
  return true;
}

Status validate_label_context(std::string_view context) {
  if (context.empty() || context.size() > kMaxLabelContextBytes) {
    return Error("expected a context of 1 to 255 bytes, got " + shown(context));
  }
  for (char c : context) {
    if (!is_context_char(c)) {
      return Error("expected a context of [A-Za-z0-9_:.,-], got " + shown(context));
    }
  }
  return ok_status();
}

Status validate_label_user_id(std::string_view vm_id) {
  bool ok = !vm_id.empty() && vm_id.size() <= kMaxVmIdBytes && vm_id.front() != '.' &&
            vm_id.front() != '-';
  for (char c : vm_id) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-');
  }
  if (ok) return ok_status();
  return Error("expected a VM id (1 to 64 of [A-Za-z0-9._-]), got " + shown(vm_id));
}

Result<std::string> format_label_record(const LabelRecord& record) {
  if (record.original) {
    if (Status s = validate_label_context(*record.original); !s.ok()) return s.error().wrap("original");
  }
  if (Status s = validate_label_context(record.label); !s.ok()) return s.error().wrap("label");
  BULWARK_TRY(check_users(record.users));
  std::string text(kHeader);
  text += "\noriginal=" + record.original.value_or("") + "\nlabel=" + record.label + "\n";
  for (const LabelUser& user : record.users) {
    text += "user=" + user.vm_id + " " + std::string(label_access_word(user.access)) + "\n";
  }
  if (text.size() > kMaxLabelRecordBytes) return Error("label record larger than 64 KiB");
  return text;
}

Result<LabelRecord> parse_label_record(std::string_view text) {
  if (text.size() > kMaxLabelRecordBytes) return Error("label record larger than 64 KiB");
  if (text.empty() || text.back() != '\n') {
    return Error("label record: not newline-terminated (cut short?)");
  }
  LabelRecord record;
  size_t pos = 0;
  size_t line_number = 0;
  while (pos < text.size()) {
    const size_t end = text.find('\n', pos);  // found: the text ends with '\n'
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_number;
    const std::string where = "label record line " + std::to_string(line_number);
    if (line_number == 1) {
      if (line != kHeader) return Error(where + ": expected \"bulwark-label 1\", got " + shown(line));
      continue;
    }
    const size_t equals = line.find('=');
    const std::string_view key = equals == std::string_view::npos ? line : line.substr(0, equals);
    const std::string_view value =
        equals == std::string_view::npos ? std::string_view() : line.substr(equals + 1);
    if (line_number == 2) {
      if (key != "original" || equals == std::string_view::npos) {
        return Error(where + ": expected original=<context>, got " + shown(line));
      }
      if (!value.empty()) {
        if (Status s = validate_label_context(value); !s.ok()) return s.error().wrap(where);
        record.original = std::string(value);
      }
      continue;
    }
    if (line_number == 3) {
      if (key != "label" || equals == std::string_view::npos) {
        return Error(where + ": expected label=<context>, got " + shown(line));
      }
      if (Status s = validate_label_context(value); !s.ok()) return s.error().wrap(where);
      record.label = std::string(value);
      continue;
    }
    if (key != "user" || equals == std::string_view::npos) {
      return Error(where + ": expected user=<vm id> <rw|ro|ro-shared>, got " + shown(line));
    }
    const size_t space = value.find(' ');
    if (space == std::string_view::npos) {
      return Error(where + ": expected user=<vm id> <rw|ro|ro-shared>, got " + shown(line));
    }
    const auto access = parse_access(value.substr(space + 1));
    if (!access) return Error(where + ": unknown access " + shown(value.substr(space + 1)));
    if (record.users.size() >= kMaxLabelRecordUsers) {
      return Error("label record: more than " + std::to_string(kMaxLabelRecordUsers) + " users");
    }
    record.users.push_back({std::string(value.substr(0, space)), *access});
  }
  if (line_number < 3) return Error("label record: cut short before its label line");
  if (Status s = check_users(record.users); !s.ok()) return s.error().wrap("label record");
  return record;
}

}  // namespace bulwark::jailer
