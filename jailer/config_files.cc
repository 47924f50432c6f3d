#include "jailer/config_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "bulwark/common/unique_fd.h"
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

Result<std::string> read_open_file(int fd, const std::string& quoted_path) {
  std::string text;
  char chunk[4096];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::from_errno("read " + quoted_path, errno);
    if (n == 0) break;
    text.append(chunk, static_cast<size_t>(n));
    if (text.size() > kMaxConfigFileBytes) return Error(quoted_path + " is larger than 1 MiB");
  }
  return text;
}

Result<UniqueFd> open_regular(const std::string& path, const std::string& quoted, int extra_flags,
                              struct stat* st) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; the type check refuses it next.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | extra_flags));
  if (!fd.valid()) return Error::from_errno("cannot read " + quoted, errno);
  if (::fstat(fd.get(), st) != 0) return Error::from_errno("stat " + quoted, errno);
  if (!S_ISREG(st->st_mode)) return Error(quoted + " is not a regular file");
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
    return Error::from_errno("fcntl " + quoted, errno);
  }
  return fd;
}

}  // namespace

Result<std::string> read_regular_config_file(const std::string& path) {
  const std::string quoted = "config file " + config::quoted_text(path, 256);
  struct stat st{};
  auto fd = open_regular(path, quoted, 0, &st);
  if (!fd.ok()) return fd.error();
  return read_open_file(fd->get(), quoted);
}

Result<HostConfig> load_host_config(const std::string& path, bool explicitly_given, bool* found) {
  *found = false;
  const std::string quoted = "host config " + config::quoted_text(path, 256);
  struct stat st{};
  if (!explicitly_given && ::lstat(path.c_str(), &st) != 0 && errno == ENOENT) return HostConfig{};
  // O_NOFOLLOW: the file itself, not whatever a symlink in its place points at.
  auto fd = open_regular(path, quoted, O_NOFOLLOW, &st);
  if (!fd.ok()) return fd.error();
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
  auto text = read_open_file(fd->get(), quoted);
  if (!text.ok()) return text.error();
  auto parsed = parse_host_config(*text);
  if (!parsed.ok()) return parsed.error().wrap(config::quoted_text(path, 256));
  *found = true;
  return parsed;
}

}  // namespace bulwark::jail
