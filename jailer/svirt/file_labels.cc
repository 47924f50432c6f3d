#include "jailer/svirt/file_labels.h"

#include <sys/xattr.h>

#include <cerrno>

#include "bulwark/common/log.h"

namespace bulwark::jailer {
namespace {

constexpr const char* kXattr = "security.selinux";

bool filesystem_refuses(int err) { return err == EOPNOTSUPP || err == ENOTSUP; }

// 0 and the value (nullopt: no label), or the errno of the failure.
int read_xattr(const std::filesystem::path& path, std::optional<std::string>& out) {
  // The label may change between the size query and the read; retry on ERANGE.
  for (int attempt = 0; attempt < 4; ++attempt) {
    const ssize_t size = ::lgetxattr(path.c_str(), kXattr, nullptr, 0);
    if (size < 0) {
      if (errno != ENODATA) return errno;
      out.reset();
      return 0;
    }
    std::string value(static_cast<size_t>(size), '\0');
    const ssize_t got = ::lgetxattr(path.c_str(), kXattr, value.data(), value.size());
    if (got < 0) {
      if (errno == ERANGE) continue;
      if (errno != ENODATA) return errno;
      out.reset();
      return 0;
    }
    value.resize(static_cast<size_t>(got));
    out = std::move(value);
    return 0;
  }
  return ERANGE;
}

}  // namespace

Result<std::optional<std::string>> read_selinux_xattr(const std::filesystem::path& path) {
  std::optional<std::string> value;
  if (int err = read_xattr(path, value); err != 0)
    return Error::from_errno("read security.selinux of " + path.string(), err);
  return value;
}

FileLabels& FileLabels::operator=(FileLabels&& other) noexcept {
  if (this != &other) {
    (void)restore();
    originals_ = std::move(other.originals_);
    other.originals_.clear();
  }
  return *this;
}

FileLabels::~FileLabels() {
  if (auto restored = restore(); !restored)
    log::error("restoring SELinux labels: " + restored.error().message());
}

Result<LabelOutcome> FileLabels::apply(const std::filesystem::path& path, const std::string& context) {
  if (context.empty() || context.find('\0') != std::string::npos)
    return Error("SELinux context for " + path.string() + " is empty or contains NUL");
  bool known = false;
  for (const auto& o : originals_) known = known || o.path == path;
  std::optional<std::string> original;
  if (!known) {
    if (int err = read_xattr(path, original); err != 0) {
      if (filesystem_refuses(err)) return LabelOutcome::kFilesystemRefused;
      return Error::from_errno("read security.selinux of " + path.string(), err);
    }
  }
  // SELinux stores (and getfilecon returns) contexts with their terminating NUL.
  const std::string value = context + '\0';
  if (::lsetxattr(path.c_str(), kXattr, value.data(), value.size(), 0) != 0) {
    const int err = errno;
    if (filesystem_refuses(err)) return LabelOutcome::kFilesystemRefused;
    return Error::from_errno("set security.selinux of " + path.string() + " to " + context, err);
  }
  if (!known) originals_.push_back({path, std::move(original)});
  return LabelOutcome::kLabelled;
}

Status FileLabels::restore() {
  Status first;
  for (auto it = originals_.rbegin(); it != originals_.rend(); ++it) {
    int rc = 0;
    if (it->value) {
      rc = ::lsetxattr(it->path.c_str(), kXattr, it->value->data(), it->value->size(), 0);
    } else {
      rc = ::lremovexattr(it->path.c_str(), kXattr);
      if (rc != 0 && errno == ENODATA) rc = 0;
    }
    // A file the VM's teardown already removed has nothing left to restore.
    const int err = rc != 0 ? errno : 0;
    if (err != 0 && err != ENOENT && first.ok())
      first = Error::from_errno("restore security.selinux of " + it->path.string(), err);
  }
  originals_.clear();
  return first;
}

}  // namespace bulwark::jailer
