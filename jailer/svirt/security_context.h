// SELinux contexts of one VM under sVirt (policy/selinux/LABELS.md): its processes run in a
// domain at s0:cA,cB; its writable disks are image-typed at s0:cA,cB; its read-only disks are
// content-typed at s0:cA,cB, or at plain s0 when shared (the operator's shared_image_dirs, and
// kernels and initrds: readable by every VM, writable by none); everything the launcher creates
// in its jail is jail-typed at s0:cA,cB; its monitor<->device sockets carry the monitor's context.
#pragma once

#include <string>
#include <string_view>

#include "bulwark/common/result.h"
#include "jailer/svirt/mcs_pair.h"

namespace bulwark::jailer {

// Configurable names; every one must be a SELinux identifier ([A-Za-z0-9_], non-empty).
struct SvirtTypes {
  std::string user = "system_u";
  std::string process_role = "system_r";
  std::string object_role = "object_r";
  std::string sensitivity = "s0";
  std::string vm_domain = "bulwark_vm_t";         // the monitor
  std::string image_type = "bulwark_image_t";     // writable disk images
  std::string content_type = "bulwark_content_t"; // read-only inputs (disks, kernel, initrd)
  std::string jail_type = "bulwark_jail_t";       // everything created in the jail
};

Status validate_svirt_types(const SvirtTypes& types);
// Device-process domains (e.g. bulwark_blk_t) go through the same check.
Status validate_selinux_identifier(std::string_view what, std::string_view name);

// "system_u:system_r:<domain>:s0:cA,cB" with A < B.
std::string process_context(const SvirtTypes& types, std::string_view domain, const McsPair& pair);
// The monitor's exec context.
std::string vm_process_context(const SvirtTypes& types, const McsPair& pair);
// "system_u:object_r:bulwark_image_t:s0:cA,cB"
std::string image_file_context(const SvirtTypes& types, const McsPair& pair);
// "system_u:object_r:bulwark_content_t:s0": shared read-only inputs.
std::string content_file_context(const SvirtTypes& types);
// "system_u:object_r:bulwark_content_t:s0:cA,cB": a read-only disk of this VM alone.
std::string private_content_file_context(const SvirtTypes& types, const McsPair& pair);
// "system_u:object_r:bulwark_jail_t:s0:cA,cB": everything the launcher creates in the jail
// (directories, mount points, symlinks, vm.json). The policy lets the VM domains search and read
// this type; image-typed files only the blk domain may use.
std::string jail_file_context(const SvirtTypes& types, const McsPair& pair);
// The context of the sockets joining the monitor and its devices: the monitor's own context
// (the policy lets device domains use bulwark_vm_t sockets, and the MCS constraints require
// the VM's exact level on both ends).
std::string vm_socket_context(const SvirtTypes& types, const McsPair& pair);

}  // namespace bulwark::jailer
