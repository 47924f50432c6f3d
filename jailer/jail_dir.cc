#include "jailer/jail_dir.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "bulwark/common/unique_fd.h"
#include "jailer/svirt/create_context.h"

namespace bulwark::jail {

namespace {

// Without SELinux enabled (selinux: auto) nothing labels at creation: security.selinux goes on
// the new object straight after, before anything of the VM runs (the jail directory is the
// launcher's own: root's, or the VM uid's with nothing of that VM running yet). A symlink cannot
// be opened, so it is labelled with lsetxattr. A filesystem without xattrs keeps no label.
Status label_new_object(const std::string& context, const std::string& path) {
  const std::string value = context + '\0';  // SELinux stores contexts NUL-terminated
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0) return Error::from_errno("label " + path, errno);
  int rc = 0;
  if (S_ISLNK(st.st_mode)) {
    rc = ::lsetxattr(path.c_str(), "security.selinux", value.data(), value.size(), 0);
  } else {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (!fd.valid()) return Error::from_errno("label " + path + ": open", errno);
    rc = ::fsetxattr(fd.get(), "security.selinux", value.data(), value.size(), 0);
  }
  if (rc != 0 && errno != EOPNOTSUPP && errno != ENOTSUP) {
    return Error::from_errno("label " + path + " " + context, errno);
  }
  return ok_status();
}

// Runs `create`, which makes `path`, so that what it makes carries `label` from the start:
// under the file-create context when SELinux is enabled (reset straight after, whatever
// happened), labelled straight after otherwise, unlabelled under selinux: off.
template <typename Create>
Status create_labelled(const jailer::JailCreateLabel& label, const std::string& path,
                       Create create) {
  if (label.context.empty()) return create();
  if (label.at_creation) {
    auto scope = jailer::ScopedCreateContext::enter(jailer::CreateKind::kFile, label.context);
    if (!scope.ok()) return scope.error().wrap("create " + path);
    Status made = create();
    // A failed reset is an error: the launcher's own next files would carry the VM's label.
    Status reset = scope->reset();
    if (!made.ok()) return made;
    return reset;
  }
  BULWARK_TRY(create());
  return label_new_object(label.context, path);
}

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

// A directory in the jail, labelled at creation; one that exists already (made earlier for this
// jail, with the same label) is fine when `exist_ok`.
Status make_jail_dir(const jailer::JailCreateLabel& label, const std::string& path, mode_t mode,
                     bool exist_ok) {
  struct stat st{};
  if (exist_ok && ::lstat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return ok_status();
    return Error(path + ": exists and is not a directory");
  }
  return create_labelled(label, path, [&] { return make_dir(path, mode, exist_ok); });
}

// Parents of `jail_path` inside the root, root-owned 0755 (read-only for the VM once the root
// is remounted read-only), each labelled at creation.
Status make_jail_parents(const JailSpec& spec, const std::string& root, const std::string& jail_path) {
  size_t slash = jail_path.find('/', 1);
  while (slash != std::string::npos) {
    BULWARK_TRY(make_jail_dir(spec.create_label, root + jail_path.substr(0, slash), 0755, true));
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

Status make_mount_point(const JailSpec& spec, const std::string& root, const ReadOnlyInput& input) {
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
  BULWARK_TRY(make_jail_parents(spec, root, input.jail_path));
  const std::string target = root + input.jail_path;
  if (S_ISDIR(st.st_mode)) return make_jail_dir(spec.create_label, target, 0755, true);
  if (!S_ISREG(st.st_mode)) return Error(input.host_path + ": not a regular file or directory");
  return create_labelled(spec.create_label, target, [&]() -> Status {
    UniqueFd fd(::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400));
    if (!fd.valid()) return Error::from_errno("create mount point " + target, errno);
    return ok_status();
  });
}

Status write_generated_file(const JailSpec& spec, const std::string& root, const GeneratedFile& file) {
  BULWARK_TRY(check_jail_path(file.jail_path));
  BULWARK_TRY(make_jail_parents(spec, root, file.jail_path));
  const std::string path = root + file.jail_path;
  const gid_t gid = spec.gid;
  UniqueFd fd;
  BULWARK_TRY(create_labelled(spec.create_label, path, [&]() -> Status {
    fd.reset(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640));
    if (!fd.valid()) return Error::from_errno("create " + path, errno);
    return ok_status();
  }));
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
  // The base is the operator's: it keeps the label its policy gives it (bulwark_jail_t:s0).
  BULWARK_TRY(make_dir(spec.base_dir, 0755, true));
  BULWARK_TRY(make_jail_dir(spec.create_label, jail_instance_dir(spec), 0700, false));
  const std::string root = jail_root_dir(spec);
  BULWARK_TRY(make_jail_dir(spec.create_label, root, 0700, false));
  if (::chown(root.c_str(), spec.uid, spec.gid) != 0) return Error::from_errno("chown " + root, errno);
  return ok_status();
}

Status populate_jail_dir(const JailSpec& spec) {
  const std::string root = jail_root_dir(spec);
  for (const ReadOnlyInput& input : spec.inputs) BULWARK_TRY(make_mount_point(spec, root, input));
  for (const WritableDir& dir : spec.writable_dirs) {
    BULWARK_TRY(check_jail_path(dir.jail_path));
    BULWARK_TRY(make_jail_parents(spec, root, dir.jail_path));
    BULWARK_TRY(make_jail_dir(spec.create_label, root + dir.jail_path, 0755, true));
  }
  if (!spec.devices.empty()) BULWARK_TRY(make_jail_dir(spec.create_label, root + "/dev", 0755, true));
  for (const JailSymlink& link : spec.symlinks) {
    BULWARK_TRY(check_jail_path(link.jail_path));
    BULWARK_TRY(make_jail_parents(spec, root, link.jail_path));
    const std::string path = root + link.jail_path;
    BULWARK_TRY(create_labelled(spec.create_label, path, [&]() -> Status {
      if (::symlink(link.target.c_str(), path.c_str()) != 0) {
        return Error::from_errno("symlink " + path, errno);
      }
      return ok_status();
    }));
  }
  for (const GeneratedFile& file : spec.files) BULWARK_TRY(write_generated_file(spec, root, file));
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
