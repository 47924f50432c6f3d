// The socket side of `bulwark vm` (operator tool; the peer's bytes are hostile, see the header).
#include "jailer/vm_cli/api_client.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "bulwark/common/unique_fd.h"
#include "monitor/config/message_text.h"

namespace bulwark::vm_cli {

namespace {

using Clock = std::chrono::steady_clock;

std::string describe_timeout(std::chrono::milliseconds timeout) {
  if (timeout.count() % 1000 == 0) return std::to_string(timeout.count() / 1000) + " s";
  return std::to_string(timeout.count()) + " ms";
}

// Waits for `events` on `fd` until `deadline`. Errors: the timeout, or poll's own failure.
Status wait_for(int fd, short events, Clock::time_point deadline, std::chrono::milliseconds timeout) {
  while (true) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return Error("no complete answer within " + describe_timeout(timeout));
    pollfd entry{fd, events, 0};
    const int ready = ::poll(&entry, 1, static_cast<int>(std::min<int64_t>(left.count(), 60'000)));
    if (ready > 0) return ok_status();
    if (ready < 0 && errno != EINTR) return Error::from_errno("poll", errno);
  }
}

// The socket file itself, never what a symbolic link points to: the socket sits in the VM's
// jail, and a compromised API process could swap it for a link to another root-only socket
// (a container runtime's, say) to have this root-run tool talk to that instead. Connecting
// through /proc/self/fd/N then reaches exactly the inode checked here.
Result<UniqueFd> open_socket_file(std::string_view path) {
  const std::string what = "cannot connect to " + config::quoted_path(path);
  UniqueFd file(::open(std::string(path).c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!file.valid()) return Error::from_errno(what, errno);
  struct stat status {};
  if (::fstat(file.get(), &status) != 0) return Error::from_errno(what, errno);
  if (S_ISLNK(status.st_mode)) return Error(what + ": it is a symbolic link (refused: the VM's jail may have made it)");
  if (!S_ISSOCK(status.st_mode)) return Error(what + ": not a socket");
  return file;
}

Status connect_before(int fd, const sockaddr_un& address, std::string_view path, Clock::time_point deadline,
                      std::chrono::milliseconds timeout) {
  const std::string what = "cannot connect to " + config::quoted_path(path);
  while (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      // The listener's backlog is full: retry shortly, within the deadline.
      if (Clock::now() >= deadline) return Error(what + ": no room in its backlog within " + describe_timeout(timeout));
      ::poll(nullptr, 0, 10);
      continue;
    }
    if (errno != EINPROGRESS) return Error::from_errno(what, errno);
    BULWARK_TRY(wait_for(fd, POLLOUT, deadline, timeout));
    int error = 0;
    socklen_t length = sizeof error;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) return Error::from_errno(what, errno);
    if (error != 0) return Error::from_errno(what, error);
    break;
  }
  return ok_status();
}

// Sends all of `bytes`. A peer that closes early may still have answered (say 413): that is
// not an error here, the caller reads what came back.
Status send_before(int fd, std::string_view bytes, Clock::time_point deadline, std::chrono::milliseconds timeout) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      BULWARK_TRY(wait_for(fd, POLLOUT, deadline, timeout));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
      return ok_status();
    } else {
      return Error::from_errno("sending the request", n < 0 ? errno : EIO);
    }
  }
  return ok_status();
}

}  // namespace

Status check_socket_path(std::string_view path) {
  if (path.empty()) return Error("the API socket path is empty");
  if (path.find('\0') != std::string_view::npos) return Error("the API socket path contains a NUL byte");
  constexpr size_t kMaxPath = sizeof(sockaddr_un{}.sun_path) - 1;
  if (path.size() > kMaxPath) {
    return Error("the API socket path " + config::quoted_path(path) + " is " + std::to_string(path.size()) +
                 " bytes long; a unix socket path holds at most " + std::to_string(kMaxPath));
  }
  return ok_status();
}

std::string format_request(const ApiRequest& request) {
  std::string out = request.method + " " + request.path + " HTTP/1.1\r\nHost: localhost\r\n";
  out += "Accept: application/json\r\n";
  if (!request.body.empty()) out += "Content-Type: application/json\r\n";
  out += "Content-Length: " + std::to_string(request.body.size()) + "\r\nConnection: close\r\n\r\n";
  out += request.body;
  return out;
}

Result<ApiResponse> call_api(std::string_view socket_path, const ApiRequest& request,
                             std::chrono::milliseconds timeout, ApiResponseLimits limits) {
  BULWARK_TRY(check_socket_path(socket_path));
  const Clock::time_point deadline = Clock::now() + timeout;
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return Error::from_errno("socket", errno);
  auto file = open_socket_file(socket_path);
  if (!file.ok()) return file.error();
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string via_fd = "/proc/self/fd/" + std::to_string(file->get());
  std::memcpy(address.sun_path, via_fd.data(), via_fd.size());  // at most 25 bytes
  BULWARK_TRY(connect_before(fd.get(), address, socket_path, deadline, timeout));
  BULWARK_TRY(send_before(fd.get(), format_request(request), deadline, timeout));

  ApiResponseReader reader(limits);
  std::vector<uint8_t> buffer(64 * 1024);
  while (reader.state() == ApiResponseReader::State::kNeedMore) {
    BULWARK_TRY(wait_for(fd.get(), POLLIN, deadline, timeout));
    const ssize_t n = ::recv(fd.get(), buffer.data(), buffer.size(), 0);
    if (n > 0) {
      reader.feed(std::span<const uint8_t>(buffer.data(), static_cast<size_t>(n)));
    } else if (n == 0 || errno == ECONNRESET) {
      reader.finish();
    } else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
      return Error::from_errno("reading the answer", errno);
    }
  }
  if (reader.state() == ApiResponseReader::State::kError) return Error("invalid answer: " + reader.error());
  return reader.response();
}

}  // namespace bulwark::vm_cli
