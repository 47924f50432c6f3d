// The security.selinux layer of file labelling: the xattr is written directly (libselinux
// refuses when SELinux is off, but the label must already be right if the host later enforces,
// and a filesystem keeps it regardless), and always on an open fd (fsetxattr/fgetxattr/
// fremovexattr), never by path: a tenant who can rename along a path must not be able to
// redirect root's relabel (or restore) to another file. Label memory (label_memory.h) decides
// what is set and restored, and when.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>

#include "bulwark/common/result.h"

namespace bulwark::jailer {

enum class LabelOutcome {
  kLabelled,
  kFilesystemRefused,  // the filesystem takes no security.* xattrs (EOPNOTSUPP); nothing changed
  kNotRequested,       // selinux: off; nothing changed
};

// The security.selinux calls label memory makes, all on an fd. Each returns 0 or an errno. The
// system one is system_fd_xattrs(); tests give a fake.
class FdXattrs {
 public:
  virtual ~FdXattrs() = default;
  // The raw value (with the NUL SELinux stores), nullopt when the file has none.
  virtual int get(int fd, std::optional<std::string>& value) = 0;
  virtual int set(int fd, const std::string& value) = 0;
  virtual int remove(int fd) = 0;
};
FdXattrs& system_fd_xattrs();

// The raw security.selinux value of the open file, including the NUL SELinux stores; nullopt
// when it has none.
Result<std::optional<std::string>> read_selinux_xattr(int fd);
// The same by path, without following a final symlink: for inspection (tests, tools) only;
// labelling never goes by path.
Result<std::optional<std::string>> read_selinux_xattr(const std::filesystem::path& path);

}  // namespace bulwark::jailer
