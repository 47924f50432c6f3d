#include "monitor/vmm/control_channel.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "bulwark/common/log.h"

namespace bulwark::vmm {
namespace {

Result<int> socket_option(int fd, int option, const char* what) {
  int value = 0;
  socklen_t length = sizeof value;
  if (::getsockopt(fd, SOL_SOCKET, option, &value, &length) != 0) return Error::from_errno(what, errno);
  return value;
}

void close_with(UniqueFd& fd, const std::string& why) {
  log::warn("control channel: " + why + "; the VM runs on without it");
  fd.reset();
}

// More than a datagram may carry (ReplaceDevice: one); a few more are taken only to be closed
// and to refuse the datagram with their count. Beyond this the kernel truncates (MSG_CTRUNC)
// and closes the rest itself.
constexpr size_t kMaxFdsReceived = 4;

// The fds in the datagram's SCM_RIGHTS messages, owned from here on (close-on-exec already:
// MSG_CMSG_CLOEXEC). Other control messages are ignored (none is enabled on this socket).
std::vector<UniqueFd> take_fds(msghdr& header) {
  std::vector<UniqueFd> fds;
  for (cmsghdr* c = CMSG_FIRSTHDR(&header); c != nullptr; c = CMSG_NXTHDR(&header, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0)) continue;
    const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      fds.emplace_back(fd);
    }
  }
  return fds;
}

}  // namespace

ControlChannel::ControlChannel(UniqueFd fd) : fd_(std::move(fd)), buffer_(api::kMaxMessageBytes + 1) {}

Result<ControlChannel> ControlChannel::adopt(int fd) {
  const std::string where = "control_fd " + std::to_string(fd);
  const int fd_flags = ::fcntl(fd, F_GETFD);
  if (fd_flags < 0) return Error::from_errno(where + " is not open", errno);
  auto domain = socket_option(fd, SO_DOMAIN, "getsockopt(SO_DOMAIN)");
  if (!domain.ok()) return domain.error().wrap(where + " is not a socket");
  auto type = socket_option(fd, SO_TYPE, "getsockopt(SO_TYPE)");
  if (!type.ok()) return type.error().wrap(where);
  if (*domain != AF_UNIX || *type != SOCK_SEQPACKET) return Error(where + ": not a unix SOCK_SEQPACKET socket");
  const int status_flags = ::fcntl(fd, F_GETFL);
  if (status_flags < 0 || ::fcntl(fd, F_SETFL, status_flags | O_NONBLOCK) != 0 ||
      ::fcntl(fd, F_SETFD, fd_flags | FD_CLOEXEC) != 0) {
    return Error::from_errno(where + ": fcntl", errno);
  }
  return ControlChannel(UniqueFd(fd));
}

bool ControlChannel::serve(short revents, VmControls& vm) {
  if (!fd_.valid()) return false;
  const bool hung_up = (revents & (POLLHUP | POLLERR | POLLNVAL)) != 0;
  if ((revents & POLLIN) == 0) {
    if (hung_up) close_with(fd_, "the launcher closed it");
    return fd_.valid();
  }
  // One datagram per recvmsg on a SEQPACKET socket; a longer one is cut to the buffer's size.
  // recvmsg, not read: a ReplaceDevice brings the fresh device process's socket along.
  iovec io{buffer_.data(), buffer_.size()};
  alignas(cmsghdr) uint8_t control[CMSG_SPACE(kMaxFdsReceived * sizeof(int))];
  msghdr header{};
  header.msg_iov = &io;
  header.msg_iovlen = 1;
  header.msg_control = control;
  header.msg_controllen = sizeof control;
  const ssize_t n = ::recvmsg(fd_.get(), &header, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  std::vector<UniqueFd> fds = n >= 0 ? take_fds(header) : std::vector<UniqueFd>{};
  const bool fds_cut = n >= 0 && (header.msg_flags & MSG_CTRUNC) != 0;
  if (n < 0) {
    if (errno != EAGAIN && errno != EINTR) close_with(fd_, Error::from_errno("read", errno).message());
    return fd_.valid();
  }
  // A zero-length read is the launcher's end closing (POLLHUP with it), else an empty message.
  if (n == 0 && hung_up) {
    close_with(fd_, "the launcher closed it");
    return false;
  }
  std::vector<uint8_t> reply;
  if (static_cast<size_t>(n) > api::kMaxMessageBytes) {
    reply = api::encode_reply(api::Reply{400, api::Reply::Body::kFault,
                                         "malformed command: longer than " +
                                             std::to_string(api::kMaxMessageBytes) + " bytes"});
  } else if (fds_cut) {
    reply = api::encode_reply(api::Reply{400, api::Reply::Body::kFault,
                                         "more than " + std::to_string(kMaxFdsReceived) +
                                             " file descriptors came with the command"});
  } else {
    reply = answer_control_message(std::span<const uint8_t>(buffer_.data(), static_cast<size_t>(n)), vm,
                                   std::move(fds));
  }
  const ssize_t written = ::write(fd_.get(), reply.data(), reply.size());
  if (written < 0) {
    // EAGAIN: the launcher is not reading its replies; it loses this one, the VM is unaffected.
    if (errno == EAGAIN) {
      log::warn("control channel: the launcher is not reading replies; one dropped");
    } else {
      close_with(fd_, Error::from_errno("write", errno).message());
    }
  }
  return fd_.valid();
}

}  // namespace bulwark::vmm
