// Labels files for a VM by writing the security.selinux xattr directly (libselinux refuses when
// SELinux is off, but the label must already be right if the host later enforces, and a
// filesystem keeps it regardless) and puts every original label back at teardown.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "bulwark/common/result.h"

namespace bulwark::jailer {

enum class LabelOutcome {
  kLabelled,
  kFilesystemRefused,  // the filesystem takes no security.* xattrs (EOPNOTSUPP); nothing changed
  kNotRequested,       // selinux: off; nothing changed
};

// The raw security.selinux value of path (without following a final symlink), including the
// NUL SELinux stores; nullopt when it has none.
Result<std::optional<std::string>> read_selinux_xattr(const std::filesystem::path& path);

class FileLabels {
 public:
  FileLabels() = default;
  FileLabels(FileLabels&&) noexcept = default;
  FileLabels& operator=(FileLabels&& other) noexcept;
  FileLabels(const FileLabels&) = delete;
  FileLabels& operator=(const FileLabels&) = delete;
  ~FileLabels();

  // Sets `context` (stored NUL-terminated) on path itself, never on a symlink's target.
  // The first label seen for a path is the one restored, however often it is relabelled.
  Result<LabelOutcome> apply(const std::filesystem::path& path, const std::string& context);

  // Restores originals in reverse order (removing the xattr where there was none). Keeps
  // going past failures and returns the first one; afterwards nothing is remembered.
  Status restore();

  size_t labelled_count() const { return originals_.size(); }

 private:
  struct Original {
    std::filesystem::path path;
    std::optional<std::string> value;
  };
  std::vector<Original> originals_;
};

}  // namespace bulwark::jailer
