// Unix socket calls of the host side (see host_socket.h); paths from the launcher, peers untrusted.
#include "devices/vsock/host_socket.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace bulwark::vsock {
namespace {

constexpr size_t kMaxPortSuffix = 11;  // "_4294967295"

Result<sockaddr_un> address_of(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof address.sun_path) {
    return Error("unix socket path \"" + path + "\" is empty or longer than " +
                 std::to_string(sizeof address.sun_path - 1) + " bytes");
  }
  std::memcpy(address.sun_path, path.data(), path.size());
  return address;
}

IoResult failed(int error) {
  IoResult result;
  if (error == EAGAIN || error == EWOULDBLOCK) {
    result.would_block = true;
  } else {
    result.error = error;
  }
  return result;
}

}  // namespace

Status check_uds_path(const std::string& uds_path) {
  if (uds_path.empty() || uds_path.size() + kMaxPortSuffix >= sizeof(sockaddr_un{}.sun_path)) {
    return Error("--uds-path must be 1 to " + std::to_string(sizeof(sockaddr_un{}.sun_path) - 1 - kMaxPortSuffix) +
                 " bytes (room for _<port>)");
  }
  return ok_status();
}

Result<UniqueFd> listen_unix(const std::string& path) {
  auto address = address_of(path);
  if (!address.ok()) return address.error();
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Error::from_errno("socket", errno);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&*address), sizeof *address) != 0) {
    return Error::from_errno("bind " + path, errno);
  }
  if (::listen(fd.get(), 128) != 0) return Error::from_errno("listen " + path, errno);
  return fd;
}

Result<UniqueFd> adopt_listener(int raw) {
  UniqueFd fd(raw);
  int type = 0, listening = 0;
  socklen_t length = sizeof type;
  sockaddr_un address{};
  socklen_t address_length = sizeof address;
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_TYPE, &type, &length) != 0) {
    return Error::from_errno("--listen-fd " + std::to_string(raw) + " is not a socket", errno);
  }
  length = sizeof listening;
  if (type != SOCK_STREAM || ::getsockopt(fd.get(), SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) != 0 ||
      listening == 0 || ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &address_length) != 0 ||
      address.sun_family != AF_UNIX) {
    return Error("--listen-fd " + std::to_string(raw) + " is not a listening unix stream socket");
  }
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
    return Error::from_errno("--listen-fd: fcntl", errno);
  }
  return fd;
}

Result<UniqueFd> accept_client(int listener) {
  for (;;) {
    UniqueFd fd(::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (fd.valid()) return fd;
    if (errno == EINTR) continue;
    // A client that gave up before we took it is not the listener's failure.
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED) return UniqueFd();
    return Error::from_errno("accept4", errno);
  }
}

Result<UniqueFd> connect_port(const std::string& uds_path, uint32_t port) {
  const std::string path = uds_path + "_" + std::to_string(port);
  auto address = address_of(path);
  if (!address.ok()) return address.error();
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Error::from_errno("socket", errno);
  int rc;
  do {
    rc = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*address), sizeof *address);
  } while (rc != 0 && errno == EINTR);
  // A unix stream connect completes at once; EAGAIN means the listener's backlog is full,
  // which the guest sees as a refusal like nobody listening.
  if (rc != 0) return Error::from_errno("connect " + path, errno);
  return fd;
}

IoResult send_some(int fd, std::span<const uint8_t> bytes) {
  IoResult result;
  while (result.bytes < bytes.size()) {
    // sendmsg rather than send (sendto): the policy allows sendmsg already, for the frontend.
    iovec iov{const_cast<uint8_t*>(bytes.data() + result.bytes), bytes.size() - result.bytes};
    msghdr message{};
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    const ssize_t n = ::sendmsg(fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      IoResult f = failed(errno);
      f.bytes = result.bytes;
      return f;
    }
    result.bytes += static_cast<size_t>(n);
  }
  return result;
}

IoResult receive_some(int fd, std::span<const std::span<uint8_t>> buffers, size_t limit) {
  std::array<iovec, 8> iov{};
  size_t count = 0, total = 0;
  for (std::span<uint8_t> buffer : buffers) {
    if (count == iov.size() || total == limit) break;
    const size_t take = std::min(buffer.size(), limit - total);
    if (take == 0) continue;
    iov[count++] = iovec{buffer.data(), take};
    total += take;
  }
  if (total == 0) return IoResult{};
  msghdr message{};
  message.msg_iov = iov.data();
  message.msg_iovlen = count;
  for (;;) {
    const ssize_t n = ::recvmsg(fd, &message, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      return failed(errno);
    }
    IoResult result;
    result.bytes = static_cast<size_t>(n);
    result.closed = n == 0;
    return result;
  }
}

}  // namespace bulwark::vsock
