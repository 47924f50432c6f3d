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

bool parse_u64(std::string_view text, uint64_t* out) {
  if (text.empty() || text.size() > 20 || (text.size() > 1 && text.front() == '0')) return false;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return false;
    value = value * 10 + digit;
  }
  *out = value;
  return true;
}

bool plain_byte(unsigned char c) { return c >= 0x21 && c <= 0x7e && c != '%'; }

std::string encode_path(std::string_view path) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : path) {
    const auto c = static_cast<unsigned char>(ch);
    if (plain_byte(c)) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;  // lowercase is not what the formatter writes
}

// The decoded path, when `text` is exactly what encode_path writes for a clean absolute path
// (no NUL, no empty, "." or ".." component, no trailing '/').
bool decode_path(std::string_view text, std::string* out) {
  std::string path;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c != '%') {
      if (!plain_byte(c)) return false;
      path += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return false;
    const int high = hex_value(text[i + 1]), low = hex_value(text[i + 2]);
    if (high < 0 || low < 0) return false;
    const auto byte = static_cast<unsigned char>(high * 16 + low);
    if (byte == 0 || plain_byte(byte)) return false;  // NUL, or a byte that is written plain
    path += static_cast<char>(byte);
    i += 2;
  }
  if (path.size() < 2 || path.size() > 4095 || path.front() != '/' || path.back() == '/') return false;
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string_view part = std::string_view(path).substr(start, end - start);
    if (part.empty() || part == ".." || part == ".") return false;
    start = end + 1;
  }
  *out = std::move(path);
  return true;
}

bool parse_label(std::string_view value, RecordedLabel* out) {
  const size_t first = value.find(':');
  if (first == std::string_view::npos) return false;
  const size_t second = value.find(':', first + 1);
  if (second == std::string_view::npos) return false;
  return parse_u64(value.substr(0, first), &out->dev) &&
         parse_u64(value.substr(first + 1, second - first - 1), &out->ino) &&
         decode_path(value.substr(second + 1), &out->path);
}

bool is_ifname_byte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

// 1..max bytes of [A-Za-z0-9_.-], not "." or "..".
bool is_plain_name(std::string_view name, size_t max) {
  if (name.empty() || name.size() > max || name == "." || name == "..") return false;
  for (char c : name) {
    if (!is_ifname_byte(c)) return false;
  }
  return true;
}

bool parse_tap(std::string_view value, RecordedTap* out) {
  const size_t first = value.find(':');
  if (first == std::string_view::npos) return false;
  const size_t second = value.find(':', first + 1);
  if (second == std::string_view::npos) return false;
  uint64_t ifindex = 0;
  if (!parse_u64(value.substr(0, first), &ifindex) || ifindex < 1 || ifindex > 0x7fffffff) return false;
  const std::string_view name = value.substr(first + 1, second - first - 1);
  const std::string_view netns = value.substr(second + 1);
  if (!is_plain_name(name, 15)) return false;
  if (!netns.empty() && !is_plain_name(netns, 255)) return false;
  out->ifindex = static_cast<int>(ifindex);
  out->name = std::string(name);
  out->netns = std::string(netns);
  return true;
}

}  // namespace

std::string format_recorded_tap(const RecordedTap& tap) {
  return std::to_string(tap.ifindex) + ":" + tap.name + ":" + tap.netns;
}

std::string format_launch_record_label(const RecordedLabel& label) {
  return "label=" + std::to_string(label.dev) + ":" + std::to_string(label.ino) + ":" +
         encode_path(label.path) + "\n";
}

std::string format_launch_record_entry(std::string_view kind, std::string_view path) {
  return std::string(kind) + "=" + std::string(path) + "\n";
}

std::string format_launch_record(const LaunchRecord& record) {
  std::string text = "uid=" + std::to_string(record.uid) + "\n";
  for (const std::string& path : record.jail_dirs) text += format_launch_record_entry("jail", path);
  for (const std::string& path : record.cgroup_dirs) text += format_launch_record_entry("cgroup", path);
  for (const RecordedLabel& label : record.labels) text += format_launch_record_label(label);
  for (const RecordedTap& tap : record.taps) text += format_launch_record_entry("tap", format_recorded_tap(tap));
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
    if (key == "label") {
      RecordedLabel label;
      if (!parse_label(value, &label)) {
        return Error(where + ": expected label=<dev>:<inode>:<encoded absolute path>, got " +
                     config::quoted_text(value));
      }
      if (++entries > kMaxLaunchRecordEntries) return Error("launch record: too many entries");
      record.labels.push_back(std::move(label));
      continue;
    }
    if (key == "tap") {
      RecordedTap tap;
      if (!parse_tap(value, &tap)) {
        return Error(where + ": expected tap=<ifindex>:<interface name>:<netns name or nothing>, got " +
                     config::quoted_text(value));
      }
      if (++entries > kMaxLaunchRecordEntries) return Error("launch record: too many entries");
      record.taps.push_back(std::move(tap));
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
