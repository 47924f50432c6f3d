// Labels files for a VM by writing the security.selinux xattr directly (libselinux refuses when
// SELinux is off, but the label must already be right if the host later enforces, and a
// filesystem keeps it regardless) and puts every original label back at teardown.
//
// Labels are set, read and restored on an open fd (fsetxattr/fgetxattr/fremovexattr), never by
// path: a tenant who can rename along a path must not be able to redirect root's relabel (or
// restore) to another file. FileLabels keeps a dup of each fd it labelled until restore(), so the
// restore reaches the same inode whatever happened to its name.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"

namespace bulwark::jailer {

enum class LabelOutcome {
  kLabelled,
  kFilesystemRefused,  // the filesystem takes no security.* xattrs (EOPNOTSUPP); nothing changed
  kNotRequested,       // selinux: off; nothing changed
};

// The security.selinux calls FileLabels makes, all on an fd. Each returns 0 or an errno. The
// system one is system_fd_xattrs(); tests give FileLabels a fake.
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

class FileLabels {
 public:
  explicit FileLabels(FdXattrs& xattrs = system_fd_xattrs()) : xattrs_(&xattrs) {}
  FileLabels(FileLabels&&) noexcept = default;
  FileLabels& operator=(FileLabels&& other) noexcept;
  FileLabels(const FileLabels&) = delete;
  FileLabels& operator=(const FileLabels&) = delete;
  ~FileLabels();

  // Sets `context` (stored NUL-terminated) on the file open as `fd`; `name` is for messages
  // only. The first label seen for an inode is the one restored, however often it is
  // relabelled. A dup of fd is kept until restore().
  Result<LabelOutcome> apply(int fd, const std::string& name, const std::string& context);

  // For files and directories the launcher itself created (the jail directory, vm.json): opens
  // `path` with O_NOFOLLOW (a symlink is refused, never followed) and labels that fd.
  Result<LabelOutcome> apply_created(const std::filesystem::path& path, const std::string& context);

  // Restores originals in reverse order (removing the xattr where there was none), each on the
  // fd kept for it. Keeps going past failures and returns the first one; afterwards nothing is
  // remembered and the kept fds are closed.
  Status restore();

  size_t labelled_count() const { return originals_.size(); }

 private:
  struct Original {
    UniqueFd fd;  // a dup of the labelled fd: same inode until restore
    dev_t dev = 0;
    ino_t ino = 0;
    std::string name;
    std::optional<std::string> value;
  };
  FdXattrs* xattrs_;
  std::vector<Original> originals_;
};

}  // namespace bulwark::jailer
