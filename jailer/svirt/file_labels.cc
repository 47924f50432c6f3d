#include "jailer/svirt/file_labels.h"

#include <sys/xattr.h>

#include <cerrno>

namespace bulwark::jailer {
namespace {

constexpr const char* kXattr = "security.selinux";

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

}  // namespace bulwark::jailer
