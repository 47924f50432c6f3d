// Sockets labelled at creation: SELinux gives a new socket the creating thread's context unless
// a socket-create context is set (setsockcreatecon). The launcher sets the monitor's context
// for the monitor<->device socketpairs, so both ends carry the VM's level, and must put the
// default back straight after, or its own later sockets would carry the VM's label.
#pragma once

#include <string>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"

namespace bulwark::jailer {

// While this lives, sockets the calling thread creates get the context it was entered with.
class ScopedSocketCreateContext {
 public:
  // setsockcreatecon_raw(context); an empty context sets nothing (SELinux off) and the guard
  // then does nothing either.
  static Result<ScopedSocketCreateContext> enter(const std::string& context);

  ScopedSocketCreateContext(ScopedSocketCreateContext&& other) noexcept;
  ScopedSocketCreateContext& operator=(ScopedSocketCreateContext&&) = delete;
  ScopedSocketCreateContext(const ScopedSocketCreateContext&) = delete;
  ScopedSocketCreateContext& operator=(const ScopedSocketCreateContext&) = delete;
  // Resets like reset(), logging a failure (error paths).
  ~ScopedSocketCreateContext();

  // setsockcreatecon_raw(NULL): new sockets get the creator's context again. Idempotent.
  Status reset();
  bool active() const { return active_; }

 private:
  explicit ScopedSocketCreateContext(bool active) : active_(active) {}
  bool active_ = false;
};

struct SocketPairEnds {
  UniqueFd first;
  UniqueFd second;
};

// A connected AF_UNIX stream socketpair, close-on-exec, both ends created under `context`
// ("" = the caller's own context, i.e. SELinux not in use). The socket-create context is reset
// before returning, whatever happened.
Result<SocketPairEnds> make_labelled_socketpair(const std::string& context);

}  // namespace bulwark::jailer
