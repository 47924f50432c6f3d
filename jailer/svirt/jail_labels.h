// Which label everything the launcher creates in a VM's jail gets under sVirt
// (policy/selinux/LABELS.md): <base>/<id>, its root, every directory, mount point and symlink
// made in the root, and the files written there (vm.json) are all bulwark_jail_t at the VM's
// pair -- the VM's domains may search the directories, read the symlinks and read vm.json, and
// no other VM may touch any of it. They get it at creation (setfscreatecon around each mkdir,
// open(O_CREAT), symlink: jail_dir.cc), never by path afterwards; the jail base dir is the
// operator's and keeps its own label (bulwark_jail_t:s0 from the .fc).
#pragma once

#include <optional>
#include <string>

#include "jailer/svirt/mcs_pair.h"
#include "jailer/svirt/security_context.h"

namespace bulwark::jailer {

struct JailCreateLabel {
  // "" = nothing is labelled (selinux: off).
  std::string context;
  // SELinux enabled: the file-create context is set around each creation. Otherwise (selinux:
  // auto on a host without SELinux) there is no policy to label at creation, but the label must
  // be right if the host later enforces: security.selinux is written on the new object as soon
  // as it exists, before anything of the VM runs.
  bool at_creation = false;
  bool operator==(const JailCreateLabel&) const = default;
};

// Nothing without a pair (selinux: off); jail type at the pair otherwise.
JailCreateLabel plan_jail_create_label(const SvirtTypes& types, const std::optional<McsPair>& pair,
                                       bool selinux_enabled);

}  // namespace bulwark::jailer
