// Files labelled at creation: SELinux gives a new file, directory or symlink the label its
// policy computes from the creating process and the parent directory unless a file-create
// context is set (setfscreatecon). The launcher sets the VM's jail context around each thing it
// creates in a VM's jail (jail_dir.cc), so nothing there ever exists with another label, and
// must put the default back straight after, or its own later files would carry the VM's label.
#pragma once

#include <string>

#include "bulwark/common/result.h"

namespace bulwark::jailer {

// While this lives, files the calling thread creates get the context it was entered with.
class ScopedFsCreateContext {
 public:
  // setfscreatecon_raw(context); an empty context sets nothing (SELinux off) and the guard then
  // does nothing either.
  static Result<ScopedFsCreateContext> enter(const std::string& context);

  ScopedFsCreateContext(ScopedFsCreateContext&& other) noexcept;
  ScopedFsCreateContext& operator=(ScopedFsCreateContext&&) = delete;
  ScopedFsCreateContext(const ScopedFsCreateContext&) = delete;
  ScopedFsCreateContext& operator=(const ScopedFsCreateContext&) = delete;
  // Resets like reset(), logging a failure (error paths).
  ~ScopedFsCreateContext();

  // setfscreatecon_raw(NULL): new files get the policy's default label again. Idempotent.
  Status reset();
  bool active() const { return active_; }

 private:
  explicit ScopedFsCreateContext(bool active) : active_(active) {}
  bool active_ = false;
};

}  // namespace bulwark::jailer
