#include "jailer/jail_dir.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "bulwark/common/unique_fd.h"

namespace bulwark::jail {

namespace {

Status make_dir(const std::string& path, mode_t mode, bool exist_ok) {
  if (::mkdir(path.c_str(), mode) == 0) return ok_status();
  if (errno == EEXIST && exist_ok) {
    struct stat st{};
    if (::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return ok_status();
    return Error(path + ": exists and is not a directory");
  }
  if (errno == EEXIST) return Error(path + ": already exists (another VM with this id?)");
  return Error::from_errno("mkdir " + path, errno);
}

// Parents of `jail_path` inside the root, root-owned 0755 (read-only for the VM once the root
// is remounted read-only).
Status make_jail_parents(const std::string& root, const std::string& jail_path) {
  size_t slash = jail_path.find('/', 1);
  while (slash != std::string::npos) {
    BULWARK_TRY(make_dir(root + jail_path.substr(0, slash), 0755, true));
    slash = jail_path.find('/', slash + 1);
  }
  return ok_status();
}

Status check_jail_path(const std::string& jail_path) {
  if (jail_path.size() < 2 || jail_path[0] != '/' || jail_path.find("..") != std::string::npos ||
      jail_path.find("//") != std::string::npos || jail_path.back() == '/') {
    return Error("invalid path inside the jail: " + jail_path);
  }
  return ok_status();
}

Status make_mount_point(const std::string& root, const ReadOnlyInput& input) {
  BULWARK_TRY(check_jail_path(input.jail_path));
  struct stat st{};
  if (input.fd >= 0) {
    // A tenant's file: what was opened as the VM user, never its path looked up again as root.
    if (::fstat(input.fd, &st) != 0) return Error::from_errno(input.host_path, errno);
  } else if (input.check_vm_access) {
    return Error(input.host_path + ": a tenant input that was not opened as the VM user");
  } else if (::stat(input.host_path.c_str(), &st) != 0) {
    return Error::from_errno(input.host_path, errno);
  }
  BULWARK_TRY(make_jail_parents(root, input.jail_path));
  const std::string target = root + input.jail_path;
  if (S_ISDIR(st.st_mode)) return make_dir(target, 0755, true);
  if (!S_ISREG(st.st_mode)) return Error(input.host_path + ": not a regular file or directory");
  UniqueFd fd(::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400));
  if (!fd.valid()) return Error::from_errno("create mount point " + target, errno);
  return ok_status();
}

Status write_generated_file(const std::string& root, const GeneratedFile& file, gid_t gid) {
  BULWARK_TRY(check_jail_path(file.jail_path));
  BULWARK_TRY(make_jail_parents(root, file.jail_path));
  const std::string path = root + file.jail_path;
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640));
  if (!fd.valid()) return Error::from_errno("create " + path, errno);
  if (::fchown(fd.get(), 0, gid) != 0) return Error::from_errno("chown " + path, errno);
  size_t done = 0;
  while (done < file.contents.size()) {
    ssize_t n = ::write(fd.get(), file.contents.data() + done, file.contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error::from_errno("write " + path, errno);
    done += static_cast<size_t>(n);
  }
  return ok_status();
}

int remove_entry(const char* path, const struct stat*, int, struct FTW*) {
  return ::remove(path) == 0 ? 0 : errno;
}

}  // namespace

std::string jail_instance_dir(const JailSpec& spec) { return spec.base_dir + "/" + spec.vm_id; }
std::string jail_root_dir(const JailSpec& spec) { return jail_instance_dir(spec) + "/root"; }

Status create_jail_dir(const JailSpec& spec) {
  BULWARK_TRY(make_dir(spec.base_dir, 0755, true));
  BULWARK_TRY(make_dir(jail_instance_dir(spec), 0700, false));
  const std::string root = jail_root_dir(spec);
  BULWARK_TRY(make_dir(root, 0700, false));
  if (::chown(root.c_str(), spec.uid, spec.gid) != 0) return Error::from_errno("chown " + root, errno);
  return ok_status();
}

Status populate_jail_dir(const JailSpec& spec) {
  const std::string root = jail_root_dir(spec);
  for (const ReadOnlyInput& input : spec.inputs) BULWARK_TRY(make_mount_point(root, input));
  if (!spec.devices.empty()) BULWARK_TRY(make_dir(root + "/dev", 0755, true));
  for (const JailSymlink& link : spec.symlinks) {
    BULWARK_TRY(check_jail_path(link.jail_path));
    BULWARK_TRY(make_jail_parents(root, link.jail_path));
    const std::string path = root + link.jail_path;
    if (::symlink(link.target.c_str(), path.c_str()) != 0) {
      return Error::from_errno("symlink " + path, errno);
    }
  }
  for (const GeneratedFile& file : spec.files) BULWARK_TRY(write_generated_file(root, file, spec.gid));
  return ok_status();
}

Status remove_tree(const std::string& path) {
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0) {
    return errno == ENOENT ? ok_status() : Error::from_errno("stat " + path, errno);
  }
  const int rc = ::nftw(path.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
  if (rc != 0) return Error::from_errno("remove " + path, rc > 0 ? rc : errno);
  return ok_status();
}

}  // namespace bulwark::jail
