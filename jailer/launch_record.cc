#include "jailer/launch_record.h"

#include "monitor/config/message_text.h"

namespace bulwark::jail {

namespace {

bool is_clean_absolute_path(std::string_view path) {
  if (path.size() < 2 || path.size() > 4095 || path.front() != '/' || path.back() == '/') {
    return false;
  }
  for (char c : path) {
    if (c < 0x21 || c > 0x7e) return false;  // printable ASCII, no spaces
  }
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

bool parse_uid(std::string_view text, uid_t* out) {
  if (text.empty() || text.size() > 10 || text.front() == '0') return false;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (value > 2147483646) return false;
  *out = static_cast<uid_t>(value);
  return true;
}

}  // namespace

std::string format_launch_record_entry(std::string_view kind, std::string_view path) {
  return std::string(kind) + "=" + std::string(path) + "\n";
}

std::string format_launch_record(const LaunchRecord& record) {
  std::string text = "uid=" + std::to_string(record.uid) + "\n";
  for (const std::string& path : record.jail_dirs) text += format_launch_record_entry("jail", path);
  for (const std::string& path : record.cgroup_dirs) text += format_launch_record_entry("cgroup", path);
  return text;
}

Result<LaunchRecord> parse_launch_record(std::string_view text) {
  if (text.size() > kMaxLaunchRecordBytes) return Error("launch record larger than 64 KiB");
  LaunchRecord record;
  size_t pos = 0;
  size_t line_number = 0;
  size_t entries = 0;
  while (pos < text.size()) {
    const size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) break;  // cut short by a crash: ignored
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_number;
    const std::string where = "launch record line " + std::to_string(line_number);
    const size_t equals = line.find('=');
    if (equals == std::string_view::npos) {
      return Error(where + ": expected KEY=VALUE, got " + config::quoted_text(line));
    }
    const std::string_view key = line.substr(0, equals);
    const std::string_view value = line.substr(equals + 1);
    if (line_number == 1) {
      if (key != "uid" || !parse_uid(value, &record.uid)) {
        return Error(where + ": expected uid=<1..2147483646>, got " + config::quoted_text(line));
      }
      continue;
    }
    if (key != "jail" && key != "cgroup") {
      return Error(where + ": unknown key " + config::quoted_text(key));
    }
    if (!is_clean_absolute_path(value)) {
      return Error(where + ": expected a plain absolute path, got " + config::quoted_text(value));
    }
    if (++entries > kMaxLaunchRecordEntries) return Error("launch record: too many entries");
    (key == "jail" ? record.jail_dirs : record.cgroup_dirs).emplace_back(value);
  }
  if (line_number == 0) return Error("launch record: empty");
  return record;
}

}  // namespace bulwark::jail
