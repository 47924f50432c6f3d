#include "jailer/api/api_host_config.h"

#include "jailer/jail_config.h"
#include "jailer/json_fields.h"
#include "monitor/config/message_text.h"
#include "monitor/config/strict_json.h"

namespace bulwark::jail {

namespace {

using json = nlohmann::json;

constexpr size_t kMaxApiDirs = 64;
constexpr int64_t kMaxGid = 2147483646;

bool has_bad_component(std::string_view name) {
  size_t pos = 0;
  while (pos <= name.size()) {
    size_t end = name.find('/', pos);
    if (end == std::string_view::npos) end = name.size();
    const std::string_view part = name.substr(pos, end - pos);
    if (part.empty() || part == "." || part == "..") return true;
    pos = end + 1;
  }
  return false;
}

}  // namespace

Status read_host_api_config(const json& value, const std::string& path, ApiHostConfig& api) {
  const auto* members = value.get_ptr<const json::object_t*>();
  if (members == nullptr) return Error(path + ": expected an object, got " + config::describe_json_value(value));
  for (const auto& [key, member] : *members) {
    const std::string field = config::json_pointer_child(path, key);
    Status status = ok_status();
    if (key == "binary") {
      status = read_json_string(member, check_absolute_path, &api.binary);
    } else if (key == "socket_gid") {
      if (member.is_number_integer() && member.get<int64_t>() == -1) {
        api.socket_gid = -1;
      } else {
        uint64_t gid = 0;
        status = read_json_integer(member, 0, kMaxGid, &gid);
        api.socket_gid = static_cast<int64_t>(gid);
      }
    } else if (key == "image_dirs") {
      BULWARK_TRY(read_absolute_dirs(member, field, kMaxApiDirs, api.image_dirs));
    } else if (key == "output_dirs") {
      BULWARK_TRY(read_absolute_dirs(member, field, kMaxApiDirs, api.output_dirs));
    } else {
      return Error(field + ": unknown field");
    }
    if (!status.ok()) return status.error().wrap(field);
  }
  return ok_status();
}

std::string describe_api_host_config(const ApiHostConfig& api) {
  auto list = [](const std::vector<std::string>& dirs) {
    std::string text;
    for (const std::string& dir : dirs) text += (text.empty() ? "" : ", ") + dir;
    return text.empty() ? std::string("(none)") : text;
  };
  return "  api.binary = " + (api.binary.empty() ? std::string("(built-in)") : api.binary) + "\n" +
         "  api.socket_gid = " + (api.socket_gid < 0 ? std::string("(root only)") : std::to_string(api.socket_gid)) +
         "\n  api.image_dirs = " + list(api.image_dirs) + "\n  api.output_dirs = " + list(api.output_dirs) + "\n";
}

Result<std::string> resolve_in_operator_dirs(const std::vector<std::string>& dirs, std::string_view name,
                                             std::string_view what, std::string_view dirs_field) {
  const std::string shown = config::quoted_text(name, 256);
  if (dirs.empty()) {
    return Error(std::string(what) + ": " + shown + ": the operator's host config allows no files here (" +
                 std::string(dirs_field) + " is empty)");
  }
  if (name.empty()) return Error(std::string(what) + ": expected a file name, got \"\"");
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return Error(std::string(what) + ": " + shown + ": control characters are not allowed");
    }
  }
  // Firecracker's getting-started names its files "./firecracker.log", "./vmlinux-...": one
  // leading "./" on a relative name means the name without it (any other "." stays refused).
  if (name.size() > 2 && name.starts_with("./") && name[2] != '/') name.remove_prefix(2);
  const bool absolute = name.front() == '/';
  const std::string_view relative = absolute ? name.substr(1) : name;
  if (has_bad_component(relative)) {
    return Error(std::string(what) + ": " + shown + ": empty, \".\" and \"..\" components are not allowed");
  }
  if (!absolute) return dirs.front() + "/" + std::string(name);
  for (const std::string& dir : dirs) {
    if (name.size() > dir.size() + 1 && name.starts_with(dir) && name[dir.size()] == '/') return std::string(name);
  }
  return Error(std::string(what) + ": " + shown + " is not inside the operator's " + std::string(dirs_field));
}

}  // namespace bulwark::jail
