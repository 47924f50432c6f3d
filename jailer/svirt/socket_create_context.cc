#include "jailer/svirt/socket_create_context.h"

#include <selinux/selinux.h>
#include <sys/socket.h>

#include <cerrno>
#include <utility>

#include "bulwark/common/log.h"

namespace bulwark::jailer {

Result<ScopedSocketCreateContext> ScopedSocketCreateContext::enter(const std::string& context) {
  if (context.empty()) return ScopedSocketCreateContext(false);
  if (::setsockcreatecon_raw(context.c_str()) != 0)
    return Error::from_errno("setsockcreatecon " + context, errno);
  return ScopedSocketCreateContext(true);
}

ScopedSocketCreateContext::ScopedSocketCreateContext(ScopedSocketCreateContext&& other) noexcept
    : active_(std::exchange(other.active_, false)) {}

ScopedSocketCreateContext::~ScopedSocketCreateContext() {
  if (Status s = reset(); !s.ok()) log::error(s.error().message());
}

Status ScopedSocketCreateContext::reset() {
  if (!active_) return ok_status();
  active_ = false;
  if (::setsockcreatecon_raw(nullptr) != 0)
    return Error::from_errno("setsockcreatecon (reset to the default)", errno);
  return ok_status();
}

Result<SocketPairEnds> make_labelled_socketpair(const std::string& context) {
  auto guard = ScopedSocketCreateContext::enter(context);
  if (!guard.ok()) return guard.error().wrap("socketpair");
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    return Error::from_errno("socketpair", errno);  // the guard resets on the way out
  SocketPairEnds ends{UniqueFd(fds[0]), UniqueFd(fds[1])};
  // A failed reset is an error here: the launcher's next sockets would carry the VM's label.
  if (Status s = guard->reset(); !s.ok()) return s.error().wrap("socketpair");
  return ends;
}

}  // namespace bulwark::jailer
