#include "jailer/svirt/fs_create_context.h"

#include <selinux/selinux.h>

#include <cerrno>
#include <utility>

#include "bulwark/common/log.h"

namespace bulwark::jailer {

Result<ScopedFsCreateContext> ScopedFsCreateContext::enter(const std::string& context) {
  if (context.empty()) return ScopedFsCreateContext(false);
  if (::setfscreatecon_raw(context.c_str()) != 0)
    return Error::from_errno("setfscreatecon " + context, errno);
  return ScopedFsCreateContext(true);
}

ScopedFsCreateContext::ScopedFsCreateContext(ScopedFsCreateContext&& other) noexcept
    : active_(std::exchange(other.active_, false)) {}

ScopedFsCreateContext::~ScopedFsCreateContext() {
  if (Status s = reset(); !s.ok()) log::error(s.error().message());
}

Status ScopedFsCreateContext::reset() {
  if (!active_) return ok_status();
  active_ = false;
  if (::setfscreatecon_raw(nullptr) != 0)
    return Error::from_errno("setfscreatecon (reset to the default)", errno);
  return ok_status();
}

}  // namespace bulwark::jailer
