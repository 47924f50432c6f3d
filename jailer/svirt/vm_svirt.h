// Everything sVirt does for one VM, as the jailer uses it: decide from the `selinux:` mode and
// the host, reserve a category pair, label the jail's files (restored when this object goes),
// give the child the exec context to enter before exec and the launcher the context of the
// monitor<->device sockets.
#pragma once

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "bulwark/common/result.h"
#include "jailer/svirt/file_labels.h"
#include "jailer/svirt/mcs_pair.h"
#include "jailer/svirt/security_context.h"
#include "jailer/svirt/selinux_mode.h"

namespace bulwark::jailer {

struct SvirtConfig {
  SelinuxMode mode = SelinuxMode::kAuto;
  SvirtTypes types;
  McsConfig mcs;
};

class VmSvirt {
 public:
  // Asks libselinux whether SELinux is enabled; logs the plan's warning, if any.
  static Result<VmSvirt> prepare(const SvirtConfig& config, std::string_view vm_id);
  // The same with the host's state given (tests, or a caller that already asked).
  static Result<VmSvirt> prepare(const SvirtConfig& config, std::string_view vm_id,
                                 bool selinux_enabled);

  const SvirtPlan& plan() const { return plan_; }
  const SvirtTypes& types() const { return types_; }
  // nullopt under selinux: off.
  std::optional<McsPair> pair() const;

  // Exec context for a process of this VM in `domain` (the VM domain or a device domain such
  // as bulwark_blk_t); empty under selinux: off. Compute it before fork.
  Result<std::string> exec_context(std::string_view domain) const;
  Result<std::string> monitor_exec_context() const { return exec_context(types_.vm_domain); }

  // In the forked child, just before execve: setexeccon(context) when the plan says so,
  // otherwise nothing.
  Status enter_exec_context(const std::string& context) const;

  // The context to create the monitor<->device sockets under (make_labelled_socketpair):
  // the monitor's, when SELinux is enabled; empty otherwise (nothing to set).
  std::string socket_context() const;

  // Labels go on open fds (opened as the VM user, jailer/vm_user_files.h), never by path;
  // `name` is for messages. Files the VM may write (disk images): image type at s0:cA,cB.
  Result<LabelOutcome> label_writable(int fd, const std::string& name);
  // Inputs the VM only reads: content type at s0.
  Result<LabelOutcome> label_read_only(int fd, const std::string& name);
  // A process's jail as plan_jail_labels (jail_labels.h) decides: <base>/<id> and its root
  // image-typed, the files written into the root (generated_jail_paths, e.g. "/vm.json")
  // jail-typed, all at the VM's pair. Nothing under selinux: off.
  Status label_jail(const std::filesystem::path& instance_dir, const std::filesystem::path& root_dir,
                    std::span<const std::string> generated_jail_paths);
  // Puts original labels back now (also done on destruction).
  Status restore_labels() { return labels_.restore(); }

 private:
  VmSvirt(SvirtPlan plan, SvirtTypes types, std::optional<McsReservation> reservation)
      : plan_(std::move(plan)), types_(std::move(types)), reservation_(std::move(reservation)) {}
  Result<LabelOutcome> label(int fd, const std::string& name, const std::string& context);
  Result<LabelOutcome> warn_if_refused(Result<LabelOutcome> outcome, const std::string& name);

  SvirtPlan plan_;
  SvirtTypes types_;
  std::optional<McsReservation> reservation_;
  // Declared last: labels are restored before the pair is released for another VM.
  FileLabels labels_;
};

}  // namespace bulwark::jailer
