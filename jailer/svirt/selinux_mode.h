// What the `selinux:` setting (enforce | auto | off) means on a host whose SELinux is or is not
// enabled: whether to launch at all, whether to allocate a category pair and label files, and
// whether to set the exec context (only possible when SELinux is enabled).
#pragma once

#include <string>
#include <string_view>

#include "bulwark/common/result.h"

namespace bulwark::jailer {

enum class SelinuxMode { kEnforce, kAuto, kOff };

// "enforce", "auto" or "off".
Result<SelinuxMode> parse_selinux_mode(std::string_view text);
std::string_view selinux_mode_name(SelinuxMode mode);

// libselinux's is_selinux_enabled() == 1 (selinuxfs mounted and a policy loaded).
bool host_selinux_enabled();

struct SvirtPlan {
  bool selinux_enabled = false;
  bool allocate_pair = false;     // also: label files where the filesystem allows
  bool set_exec_context = false;  // only when SELinux is enabled
  bool set_socket_context = false;  // monitor<->device sockets; only when SELinux is enabled
  std::string warning;            // non-empty: the VM runs without sVirt confinement
};

// enforce without SELinux: error (refuse to launch). auto without SELinux: labels files,
// no exec or socket context, and a warning. off: nothing at all.
Result<SvirtPlan> plan_svirt(SelinuxMode mode, bool selinux_enabled);

// Sets the context the calling thread's next execve() runs in (setexeccon_raw). Call it in the
// launched child just before exec, and only when the plan says so.
Status set_exec_context_for_next_exec(const std::string& context);

}  // namespace bulwark::jailer
