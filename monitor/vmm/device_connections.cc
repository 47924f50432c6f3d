#include "monitor/vmm/device_connections.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

#include "bulwark/common/hex.h"
#include "bulwark/common/log.h"
#include "monitor/config/message_text.h"

namespace bulwark::vmm {
namespace {

// A device process started just before the monitor may not be listening yet.
constexpr int kConnectAttempts = 100;
constexpr int kConnectRetryMs = 20;

Result<UniqueFd> connect_to_path(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) {
    return Error("socket path is longer than " + std::to_string(sizeof address.sun_path - 1) + " bytes");
  }
  std::memcpy(address.sun_path, path.data(), path.size());
  int last_errno = 0;
  for (int attempt = 0; attempt < kConnectAttempts; ++attempt) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return Error::from_errno("socket", errno);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) return fd;
    last_errno = errno;
    if (last_errno != ENOENT && last_errno != ECONNREFUSED && last_errno != EINTR) break;
    ::poll(nullptr, 0, kConnectRetryMs);
  }
  return Error::from_errno("cannot connect to " + config::quoted_path(path), last_errno);
}

}  // namespace

vhost_user::SharedGuestRam shared_ram_of(const kvm::GuestMemory& memory) {
  vhost_user::SharedGuestRam ram;
  ram.memfd = memory.memfd();
  uint64_t offset = 0;
  const auto& ranges = memory.layout().ram_ranges();
  for (size_t i = 0; i < ranges.size(); ++i) {
    ram.regions.push_back({ranges[i].guest_addr, ranges[i].size, memory.host_address_of_range(i), offset});
    offset += ranges[i].size;
  }
  return ram;
}

std::string device_display_name(const config::DeviceConfig& device, size_t index) {
  const std::string where =
      device.socket_fd != -1 ? "fd " + std::to_string(device.socket_fd) : "socket " + config::quoted_path(device.socket);
  return device.type + " " + std::to_string(index) + " (" + where + ")";
}

Result<UniqueFd> open_device_socket(const config::DeviceConfig& device) {
  if (device.socket_fd == -1) return connect_to_path(device.socket);
  const int flags = ::fcntl(device.socket_fd, F_GETFD);
  if (flags < 0) return Error::from_errno("fd " + std::to_string(device.socket_fd) + " is not open", errno);
  // The monitor never executes anything, but an inherited fd should not outlive it anywhere.
  ::fcntl(device.socket_fd, F_SETFD, flags | FD_CLOEXEC);
  return UniqueFd(device.socket_fd);
}

Result<std::vector<UniqueFd>> open_device_sockets(const std::vector<config::DeviceConfig>& devices) {
  std::vector<UniqueFd> sockets;
  for (size_t i = 0; i < devices.size(); ++i) {
    auto socket = open_device_socket(devices[i]);
    if (!socket.ok()) return socket.error().wrap(device_display_name(devices[i], i));
    sockets.push_back(std::move(*socket));
  }
  return sockets;
}

Result<std::vector<std::unique_ptr<vhost_user::VhostUserFrontend>>> connect_frontends(
    const std::vector<config::DeviceConfig>& devices, std::vector<UniqueFd> sockets,
    const kvm::GuestMemory& memory, bool replacement_possible) {
  std::vector<std::unique_ptr<vhost_user::VhostUserFrontend>> frontends;
  const vhost_user::SharedGuestRam ram = shared_ram_of(memory);
  for (size_t i = 0; i < devices.size() && i < sockets.size(); ++i) {
    const std::string name = device_display_name(devices[i], i);
    const auto kind = vhost_user::device_kind_from_name(devices[i].type);
    if (!kind) return Error(name + ": unknown device type");
    vhost_user::FrontendOptions options;
    options.name = name;
    options.replacement_possible = replacement_possible;
    auto frontend = vhost_user::VhostUserFrontend::connect(std::move(sockets[i]), *kind, ram, options);
    if (!frontend.ok()) {
      // The device process's fault (it hung, died or broke the protocol; it may be
      // compromised): only this device fails, the VM starts without it. connect() closed the
      // socket. The guest sees the device refuse to start (virtio_pci_device.h).
      log::error(name + ": the device failed its handshake and is out of service; the VM starts without it: " +
                 frontend.error().message());
      frontends.push_back(vhost_user::VhostUserFrontend::failed_at_connect(
          *kind, options, "handshake: " + frontend.error().message()));
      continue;
    }
    log::info(name + ": connected; " + std::to_string((*frontend)->num_queues()) + " queue(s), features " +
              hex((*frontend)->device_features()));
    frontends.push_back(std::move(*frontend));
  }
  return frontends;
}

}  // namespace bulwark::vmm
