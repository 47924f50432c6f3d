#include "jailer/config_files.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>

#include "monitor/config/input_file.h"
#include "monitor/config/message_text.h"

namespace bulwark::jail {

namespace {

Status check_operator_owned(const struct stat& st, const std::string& what) {
  if (st.st_uid != 0) {
    return Error(what + " is owned by uid " + std::to_string(st.st_uid) + ", not root");
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return Error(what + " is writable by group or others (mode " +
                 std::to_string((st.st_mode >> 6) & 7) + std::to_string((st.st_mode >> 3) & 7) +
                 std::to_string(st.st_mode & 7) + ")");
  }
  return ok_status();
}

std::string as_text(const std::vector<uint8_t>& bytes) { return std::string(bytes.begin(), bytes.end()); }

}  // namespace

Result<std::string> read_regular_config_file(const std::string& path) {
  auto bytes = config::read_regular_file("config file", path, kMaxConfigFileBytes);
  if (!bytes.ok()) return bytes.error();
  return as_text(*bytes);
}

Result<HostConfig> load_host_config(const std::string& path, bool explicitly_given, bool* found) {
  *found = false;
  const std::string quoted = "host config " + config::quoted_text(path, 256);
  struct stat st{};
  if (!explicitly_given && ::lstat(path.c_str(), &st) != 0 && errno == ENOENT) return HostConfig{};
  // O_NOFOLLOW: the file itself, not whatever a symlink in its place points at.
  auto fd = config::open_regular_file("host config", path, O_NOFOLLOW);
  if (!fd.ok()) return fd.error();
  if (::fstat(fd->get(), &st) != 0) return Error::from_errno("stat " + quoted, errno);
  BULWARK_TRY(check_operator_owned(st, quoted));
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  struct stat dir_st{};
  if (::stat(dir.empty() ? "." : dir.c_str(), &dir_st) != 0) {
    return Error::from_errno("stat the directory of " + quoted, errno);
  }
  // Sticky directories (/tmp) let others create files but not replace root's.
  if ((dir_st.st_mode & S_ISVTX) == 0) {
    BULWARK_TRY(check_operator_owned(dir_st, "the directory of " + quoted));
  }
  auto bytes = config::read_open_file("host config", path, fd->get(), kMaxConfigFileBytes);
  if (!bytes.ok()) return bytes.error();
  auto parsed = parse_host_config(as_text(*bytes));
  if (!parsed.ok()) return parsed.error().wrap(config::quoted_text(path, 256));
  *found = true;
  return parsed;
}

}  // namespace bulwark::jail
