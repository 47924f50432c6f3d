#include "jailer/svirt/create_context.h"

#include <selinux/selinux.h>

#include <cerrno>
#include <utility>

#include "bulwark/common/log.h"

namespace bulwark::jailer {

namespace {

int set_create_context(CreateKind kind, const char* context) {
  return kind == CreateKind::kFile ? ::setfscreatecon_raw(context)
                                   : ::setsockcreatecon_raw(context);
}

const char* call_name(CreateKind kind) {
  return kind == CreateKind::kFile ? "setfscreatecon" : "setsockcreatecon";
}

}  // namespace

Result<ScopedCreateContext> ScopedCreateContext::enter(CreateKind kind, const std::string& context) {
  if (context.empty()) return ScopedCreateContext(kind, false);
  if (set_create_context(kind, context.c_str()) != 0) {
    return Error::from_errno(std::string(call_name(kind)) + " " + context, errno);
  }
  return ScopedCreateContext(kind, true);
}

ScopedCreateContext::ScopedCreateContext(ScopedCreateContext&& other) noexcept
    : kind_(other.kind_), active_(std::exchange(other.active_, false)) {}

ScopedCreateContext::~ScopedCreateContext() {
  if (Status s = reset(); !s.ok()) log::error(s.error().message());
}

Status ScopedCreateContext::reset() {
  if (!active_) return ok_status();
  active_ = false;
  if (set_create_context(kind_, nullptr) != 0) {
    return Error::from_errno(std::string(call_name(kind_)) + " (reset to the default)", errno);
  }
  return ok_status();
}

}  // namespace bulwark::jailer
