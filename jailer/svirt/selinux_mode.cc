#include "jailer/svirt/selinux_mode.h"

#include <selinux/selinux.h>

#include <cerrno>

namespace bulwark::jailer {

Result<SelinuxMode> parse_selinux_mode(std::string_view text) {
  if (text == "enforce") return SelinuxMode::kEnforce;
  if (text == "auto") return SelinuxMode::kAuto;
  if (text == "off") return SelinuxMode::kOff;
  return Error("selinux: '" + std::string(text) + "' is not one of enforce, auto, off");
}

std::string_view selinux_mode_name(SelinuxMode mode) {
  switch (mode) {
    case SelinuxMode::kEnforce: return "enforce";
    case SelinuxMode::kAuto: return "auto";
    case SelinuxMode::kOff: return "off";
  }
  return "?";
}

bool host_selinux_enabled() { return ::is_selinux_enabled() == 1; }

Result<SvirtPlan> plan_svirt(SelinuxMode mode, bool selinux_enabled) {
  SvirtPlan plan;
  plan.selinux_enabled = selinux_enabled;
  if (mode == SelinuxMode::kOff) return plan;
  if (!selinux_enabled && mode == SelinuxMode::kEnforce)
    return Error(
        "selinux: enforce: SELinux is not enabled on this host (no policy loaded); refusing to "
        "launch a VM without sVirt confinement (set selinux: auto or off to run unconfined)");
  plan.allocate_pair = true;
  plan.set_exec_context = selinux_enabled;
  plan.set_socket_context = selinux_enabled;
  if (!selinux_enabled)
    plan.warning =
        "selinux: auto: SELinux is NOT enabled on this host: the VM runs WITHOUT sVirt "
        "confinement (no exec or socket context); files are still labelled where the filesystem accepts "
        "security.selinux";
  return plan;
}

Status set_exec_context_for_next_exec(const std::string& context) {
  if (::setexeccon_raw(context.c_str()) != 0)
    return Error::from_errno("setexeccon " + context, errno);
  return ok_status();
}

}  // namespace bulwark::jailer
