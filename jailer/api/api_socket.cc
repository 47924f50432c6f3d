#include "jailer/api/api_socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "jailer/svirt/create_context.h"
#include "monitor/config/message_text.h"

namespace bulwark::jail {

namespace {
constexpr int kBacklog = 32;
}

Result<ApiSocket> ApiSocket::create(const std::string& path, int64_t gid, const std::string& socket_context,
                                    const std::string& file_context) {
  const std::string shown = config::quoted_text(path, 256);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.front() != '/' || path.size() >= sizeof(address.sun_path)) {
    return Error("--api-sock: " + shown + ": expected an absolute path of at most " +
                 std::to_string(sizeof(address.sun_path) - 1) + " bytes");
  }
  std::memcpy(address.sun_path, path.data(), path.size());
  struct stat existing{};
  if (::lstat(path.c_str(), &existing) == 0) {
    return Error("--api-sock: " + shown + " already exists (another VM's socket, or a stale one the operator removes)");
  }
  ApiSocket socket;
  {
    auto guard = jailer::ScopedCreateContext::enter(jailer::CreateKind::kSocket, socket_context);
    if (!guard.ok()) return guard.error().wrap("--api-sock: label");
    socket.fd_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!socket.fd_.valid()) return Error::from_errno("--api-sock: socket", errno);
    if (Status s = guard->reset(); !s.ok()) return s.error().wrap("--api-sock: label");
  }
  {
    auto guard = jailer::ScopedCreateContext::enter(jailer::CreateKind::kFile, file_context);
    if (!guard.ok()) return guard.error().wrap("--api-sock: label");
    // Created with no access for anyone, then opened up for exactly root and the group, so no
    // client connects in between with wider rights.
    const mode_t old_mask = ::umask(0777);
    const int rc = ::bind(socket.fd_.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address));
    const int bind_errno = errno;
    ::umask(old_mask);
    if (rc != 0) return Error::from_errno("--api-sock: bind " + shown, bind_errno);
    if (Status s = guard->reset(); !s.ok()) return s.error().wrap("--api-sock: label");
  }
  socket.path_ = path;
  struct stat made{};
  if (::lstat(path.c_str(), &made) != 0) return Error::from_errno("--api-sock: stat " + shown, errno);
  socket.dev_ = made.st_dev;
  socket.ino_ = made.st_ino;
  const gid_t group = gid < 0 ? 0 : static_cast<gid_t>(gid);
  if (::lchown(path.c_str(), 0, group) != 0) return Error::from_errno("--api-sock: chown " + shown, errno);
  if (::chmod(path.c_str(), gid < 0 ? 0600 : 0660) != 0) return Error::from_errno("--api-sock: chmod " + shown, errno);
  if (::listen(socket.fd_.get(), kBacklog) != 0) return Error::from_errno("--api-sock: listen", errno);
  return socket;
}

ApiSocket::ApiSocket(ApiSocket&& other) noexcept
    : fd_(std::move(other.fd_)), path_(std::move(other.path_)), dev_(other.dev_), ino_(other.ino_) {
  other.path_.clear();
}

ApiSocket::~ApiSocket() {
  if (path_.empty()) return;
  struct stat now{};
  if (::lstat(path_.c_str(), &now) == 0 && now.st_dev == dev_ && now.st_ino == ino_) ::unlink(path_.c_str());
}

}  // namespace bulwark::jail
