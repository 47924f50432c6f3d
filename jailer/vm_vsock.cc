#include "jailer/vm_vsock.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "bulwark/common/log.h"
#include "jailer/jail_dir.h"
#include "jailer/svirt/create_context.h"

namespace bulwark::jail {

namespace {

// The operator's directory: made if missing, and it must be a real directory (a symlink there
// would put every VM's sockets wherever it points).
Status ensure_operator_dir(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::symlink_status(dir, ec))) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return Error("mkdir " + dir + ": " + ec.message());
    ::chmod(dir.c_str(), 0755);
  }
  struct stat st{};
  if (::lstat(dir.c_str(), &st) != 0) return Error::from_errno("stat " + dir, errno);
  if (!S_ISDIR(st.st_mode)) return Error(dir + " (the host config's vsock.dir) is not a directory");
  return ok_status();
}

// A listening unix stream socket at `path`, root's, 0600; created under `context`.
Result<UniqueFd> listen_at(const std::string& path, const std::string& context) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) return Error("socket path too long: " + path);
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  auto labelled = jailer::ScopedCreateContext::enter(jailer::CreateKind::kSocket, context);
  if (!labelled.ok()) return labelled.error().wrap("socket context");
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const int socket_error = errno;
  BULWARK_TRY(labelled->reset());
  if (!fd.valid()) return Error::from_errno("socket", socket_error);
  const mode_t old_mask = ::umask(0177);
  const int bound = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address);
  const int bind_error = errno;
  ::umask(old_mask);
  if (bound != 0) return Error::from_errno("bind " + path, bind_error);
  if (::listen(fd.get(), 128) != 0) return Error::from_errno("listen " + path, errno);
  return fd;
}

}  // namespace

Result<VmVsockDir> VmVsockDir::create(const LaunchConfig& config, const std::string& socket_context) {
  const std::string step = "jail step vsock";
  if (!config.vsock) return Error(step + ": no vsock in the VM config");
  auto in_step = [&step](Status status) -> Status {
    if (status.ok()) return status;
    return status.error().wrap(step);
  };
  BULWARK_TRY(in_step(check_vsock_against_host(config.vsock_host, config.jail.id, *config.vsock)));
  BULWARK_TRY(in_step(ensure_operator_dir(config.vsock_host.dir)));
  VmVsockDir made;
  const std::string dir = vm_vsock_dir(config.vsock_host, config.jail.id);
  // Left by a launcher of this VM id that died: this launch holds the id, nobody else uses it.
  BULWARK_TRY(in_step(remove_tree(dir)));
  if (::mkdir(dir.c_str(), 0700) != 0) return Error::from_errno(step + ": mkdir " + dir, errno);
  made.dir_ = dir;
  if (::chown(dir.c_str(), 0, config.jail.gid) != 0) return Error::from_errno(step + ": chown " + dir, errno);
  if (::chmod(dir.c_str(), 02750) != 0) return Error::from_errno(step + ": chmod " + dir, errno);
  made.socket_path_ = vm_vsock_socket_path(config.vsock_host, config.jail.id, *config.vsock);
  auto listener = listen_at(made.socket_path_, socket_context);
  if (!listener.ok()) return listener.error().wrap(step);
  made.listener_ = std::move(*listener);
  return made;
}

VmVsockDir::VmVsockDir(VmVsockDir&& other) noexcept
    : dir_(std::exchange(other.dir_, {})),
      socket_path_(std::exchange(other.socket_path_, {})),
      listener_(std::move(other.listener_)) {}

VmVsockDir& VmVsockDir::operator=(VmVsockDir&& other) noexcept {
  if (this != &other) {
    remove();
    dir_ = std::exchange(other.dir_, {});
    socket_path_ = std::exchange(other.socket_path_, {});
    listener_ = std::move(other.listener_);
  }
  return *this;
}

void VmVsockDir::remove() {
  listener_.reset();
  if (dir_.empty()) return;
  if (Status s = remove_tree(dir_); !s.ok()) log::error("teardown of the vsock directory: " + s.error().message());
  dir_.clear();
}

}  // namespace bulwark::jail
