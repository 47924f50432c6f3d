#include "jailer/svirt/file_labels.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <cerrno>

#include "bulwark/common/log.h"

namespace bulwark::jailer {
namespace {

constexpr const char* kXattr = "security.selinux";

bool filesystem_refuses(int err) { return err == EOPNOTSUPP || err == ENOTSUP; }

// The label may change between the size query and the read; retry on ERANGE. `query` is
// fgetxattr or lgetxattr bound to its file.
template <typename Query>
int read_xattr(Query query, std::optional<std::string>& out) {
  for (int attempt = 0; attempt < 4; ++attempt) {
    const ssize_t size = query(nullptr, 0);
    if (size < 0) {
      if (errno != ENODATA) return errno;
      out.reset();
      return 0;
    }
    std::string value(static_cast<size_t>(size), '\0');
    const ssize_t got = query(value.data(), value.size());
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

class SystemFdXattrs final : public FdXattrs {
 public:
  int get(int fd, std::optional<std::string>& value) override {
    return read_xattr([fd](void* buf, size_t size) { return ::fgetxattr(fd, kXattr, buf, size); },
                      value);
  }
  int set(int fd, const std::string& value) override {
    return ::fsetxattr(fd, kXattr, value.data(), value.size(), 0) == 0 ? 0 : errno;
  }
  int remove(int fd) override {
    if (::fremovexattr(fd, kXattr) == 0) return 0;
    return errno == ENODATA ? 0 : errno;
  }
};

}  // namespace

FdXattrs& system_fd_xattrs() {
  static SystemFdXattrs xattrs;
  return xattrs;
}

Result<std::optional<std::string>> read_selinux_xattr(int fd) {
  std::optional<std::string> value;
  if (int err = system_fd_xattrs().get(fd, value); err != 0)
    return Error::from_errno("read security.selinux of fd " + std::to_string(fd), err);
  return value;
}

Result<std::optional<std::string>> read_selinux_xattr(const std::filesystem::path& path) {
  std::optional<std::string> value;
  const int err = read_xattr(
      [&path](void* buf, size_t size) { return ::lgetxattr(path.c_str(), kXattr, buf, size); },
      value);
  if (err != 0) return Error::from_errno("read security.selinux of " + path.string(), err);
  return value;
}

FileLabels& FileLabels::operator=(FileLabels&& other) noexcept {
  if (this != &other) {
    (void)restore();
    xattrs_ = other.xattrs_;
    originals_ = std::move(other.originals_);
    other.originals_.clear();
  }
  return *this;
}

FileLabels::~FileLabels() {
  if (auto restored = restore(); !restored)
    log::error("restoring SELinux labels: " + restored.error().message());
}

Result<LabelOutcome> FileLabels::apply(int fd, const std::string& name, const std::string& context) {
  if (context.empty() || context.find('\0') != std::string::npos)
    return Error("SELinux context for " + name + " is empty or contains NUL");
  struct stat st{};
  if (::fstat(fd, &st) != 0) return Error::from_errno("label " + name + ": fstat", errno);
  bool known = false;
  for (const auto& o : originals_) known = known || (o.dev == st.st_dev && o.ino == st.st_ino);
  std::optional<std::string> original;
  UniqueFd kept;
  if (!known) {
    if (int err = xattrs_->get(fd, original); err != 0) {
      if (filesystem_refuses(err)) return LabelOutcome::kFilesystemRefused;
      return Error::from_errno("read security.selinux of " + name, err);
    }
    kept.reset(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
    if (!kept.valid()) return Error::from_errno("label " + name + ": dup", errno);
  }
  // SELinux stores (and getfilecon returns) contexts with their terminating NUL.
  if (int err = xattrs_->set(fd, context + '\0'); err != 0) {
    if (filesystem_refuses(err)) return LabelOutcome::kFilesystemRefused;
    return Error::from_errno("set security.selinux of " + name + " to " + context, err);
  }
  if (!known) originals_.push_back({std::move(kept), st.st_dev, st.st_ino, name, std::move(original)});
  return LabelOutcome::kLabelled;
}

Result<LabelOutcome> FileLabels::apply_created(const std::filesystem::path& path,
                                               const std::string& context) {
  // O_RDONLY works for directories too; fsetxattr does not work on O_PATH fds. O_NONBLOCK and
  // O_NOCTTY: nothing here is a FIFO or a terminal, but an open must never hang or acquire one.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd.valid()) return Error::from_errno("label " + path.string() + ": open", errno);
  return apply(fd.get(), path.string(), context);
}

Status FileLabels::restore() {
  Status first;
  for (auto it = originals_.rbegin(); it != originals_.rend(); ++it) {
    const int err = it->value ? xattrs_->set(it->fd.get(), *it->value) : xattrs_->remove(it->fd.get());
    if (err != 0 && first.ok())
      first = Error::from_errno("restore security.selinux of " + it->name, err);
  }
  originals_.clear();
  return first;
}

}  // namespace bulwark::jailer
