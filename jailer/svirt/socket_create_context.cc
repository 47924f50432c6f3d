#include "jailer/svirt/socket_create_context.h"

#include <sys/socket.h>

#include <cerrno>

namespace bulwark::jailer {

namespace {

Result<SocketPairEnds> make_socket_pair(const std::string& context, int type) {
  auto guard = ScopedCreateContext::enter(CreateKind::kSocket, context);
  if (!guard.ok()) return guard.error().wrap("socketpair");
  int fds[2];
  if (::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fds) != 0)
    return Error::from_errno("socketpair", errno);  // the guard resets on the way out
  SocketPairEnds ends{UniqueFd(fds[0]), UniqueFd(fds[1])};
  // A failed reset is an error here: the launcher's next sockets would carry the VM's label.
  if (Status s = guard->reset(); !s.ok()) return s.error().wrap("socketpair");
  return ends;
}

}  // namespace

Result<SocketPairEnds> make_labelled_socketpair(const std::string& context) { return make_socket_pair(context, SOCK_STREAM); }

Result<SocketPairEnds> make_labelled_seqpacket_pair(const std::string& context) {
  return make_socket_pair(context, SOCK_SEQPACKET);
}

}  // namespace bulwark::jailer
