// Everything sVirt does for one VM, as the jailer uses it: decide from the `selinux:` mode and
// the host, reserve a category pair, say how the jail's files are labelled at creation, label
// the tenant's files through label memory (restored when the last VM using them ends), give the
// child the exec context to enter before exec and the launcher the context of the
// monitor<->device sockets.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/common/result.h"
#include "jailer/svirt/file_labels.h"
#include "jailer/svirt/jail_labels.h"
#include "jailer/svirt/label_memory.h"
#include "jailer/svirt/mcs_pair.h"
#include "jailer/svirt/security_context.h"
#include "jailer/svirt/selinux_mode.h"

namespace bulwark::jailer {

struct SvirtConfig {
  SelinuxMode mode = SelinuxMode::kAuto;
  SvirtTypes types;
  McsConfig mcs;
  // The host's run directory: label memory's lock (<run_dir>/labels.lock) and the VM id locks
  // that say which VMs are running (<run_dir>/vms). Empty: mcs.run_dir's parent.
  std::filesystem::path run_dir;
  // The operator's shared_image_dirs (host_config.h): a read-only disk below one of them (by the
  // path its open fd resolves to) is shared at plain s0; any other read-only disk carries the
  // VM's own pair.
  std::vector<std::string> shared_image_dirs;
  // Tests: who is running, and the security.selinux layer. Defaults: the VM id locks, the system.
  VmRunningCheck running;
  FdXattrs* selinux_xattrs = nullptr;
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

  // How everything the launcher creates in this VM's jails is labelled (jail_labels.h): the
  // jail type at the pair, at creation; nothing under selinux: off.
  JailCreateLabel jail_create_label() const;

  // The launch record's hook: called with each tenant file before it is relabelled.
  void set_label_record_hook(LabelMemory::RecordHook hook);

  // Tenant files, on fds opened as the VM user (jailer/vm_user_files.h), never by path; `name`
  // is for messages. Label memory (label_memory.h) refuses a file another running VM uses
  // (naming it) unless all of them share it read-only, and restores it when the last user ends.
  // A disk: writable -> image type at the pair; read-only -> content type at the pair, or at
  // plain s0 and shared when its resolved path lies below one of shared_image_dirs.
  Result<LabelOutcome> label_disk(int fd, const std::string& name, bool read_only);
  // A kernel or initrd: content type at plain s0, read-only and shared.
  Result<LabelOutcome> label_boot_input(int fd, const std::string& name);
  // The running VMs label memory names for the file (for the image lock's refusal).
  std::vector<std::string> label_holders(int fd) const;
  // Puts original labels back now where this VM was the last user (also done on destruction).
  Status restore_labels() { return labels_.release_all(); }

 private:
  VmSvirt(SvirtPlan plan, SvirtTypes types, std::optional<McsReservation> reservation,
          std::string vm_id, const SvirtConfig& config);
  Result<LabelOutcome> label(int fd, const std::string& name, const std::string& context,
                             LabelAccess access);

  SvirtPlan plan_;
  SvirtTypes types_;
  std::optional<McsReservation> reservation_;
  std::string vm_id_;
  std::filesystem::path run_dir_;
  std::vector<std::string> shared_image_dirs_;
  VmRunningCheck running_;
  // Declared last: labels are restored before the pair is released for another VM.
  LabelMemory labels_;
};

}  // namespace bulwark::jailer
