// Objects labelled at creation. SELinux gives a new file, directory or symlink the label its
// policy computes from the creator and the parent directory, and a new socket the creator's
// context, unless a create context is set for that kind (setfscreatecon, setsockcreatecon). The
// launcher sets the VM's context around what it creates for a VM (jail files, jail_dir.cc;
// monitor<->device socketpairs, socket_create_context.h) and must put the default back straight
// after, or its own later files and sockets would carry the VM's label.
#pragma once

#include <string>

#include "bulwark/common/result.h"

namespace bulwark::jailer {

enum class CreateKind { kFile, kSocket };

// While this lives, objects of its kind the calling thread creates get the context it was
// entered with.
class ScopedCreateContext {
 public:
  // Sets the create context of `kind`; an empty context sets nothing (SELinux off) and the guard
  // then does nothing either.
  static Result<ScopedCreateContext> enter(CreateKind kind, const std::string& context);

  ScopedCreateContext(ScopedCreateContext&& other) noexcept;
  ScopedCreateContext& operator=(ScopedCreateContext&&) = delete;
  ScopedCreateContext(const ScopedCreateContext&) = delete;
  ScopedCreateContext& operator=(const ScopedCreateContext&) = delete;
  // Resets like reset(), logging a failure (error paths).
  ~ScopedCreateContext();

  // Back to the default (NULL context): new objects get their usual label again. Idempotent.
  Status reset();
  bool active() const { return active_; }

 private:
  ScopedCreateContext(CreateKind kind, bool active) : kind_(kind), active_(active) {}
  CreateKind kind_;
  bool active_ = false;
};

}  // namespace bulwark::jailer
