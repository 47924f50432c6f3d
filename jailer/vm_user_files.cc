#include "jailer/vm_user_files.h"

#include <fcntl.h>
#include <sys/fsuid.h>
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

namespace bulwark::jail {

Result<VmUserFile> open_as_vm_user(const std::string& path, int flags, uid_t uid, gid_t gid) {
  // The launcher is single-threaded here, so the fs identity change covers only this open.
  ::setfsgid(gid);
  ::setfsuid(uid);
  UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC | O_NONBLOCK));
  const int saved = errno;
  ::setfsuid(0);
  ::setfsgid(0);
  if (!fd.valid()) return Error::from_errno(path + " (as uid " + std::to_string(uid) + ")", saved);
  struct stat opened{};
  if (::fstat(fd.get(), &opened) != 0) return Error::from_errno(path, errno);
  if (!S_ISREG(opened.st_mode)) return Error(path + ": not a regular file");
  // Blocking from here on: regular files ignore O_NONBLOCK, but the flag is not ours to leave.
  const int status_flags = ::fcntl(fd.get(), F_GETFL);
  if (status_flags < 0 || ::fcntl(fd.get(), F_SETFL, status_flags & ~O_NONBLOCK) != 0) {
    return Error::from_errno(path + ": fcntl", errno);
  }
  std::error_code ec;
  const std::filesystem::path resolved = std::filesystem::canonical(path, ec);
  struct stat named{};
  if (ec || ::lstat(resolved.c_str(), &named) != 0 || named.st_dev != opened.st_dev ||
      named.st_ino != opened.st_ino) {
    return Error(path + ": changed while being checked");
  }
  return VmUserFile{std::move(fd), resolved.string(), static_cast<uint64_t>(opened.st_size)};
}

}  // namespace bulwark::jail
