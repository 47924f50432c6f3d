// SELinux contexts of one VM under sVirt: its processes run in a domain at s0:cA,cB, its jail
// directory and writable files are image-typed at s0:cA,cB, and shared read-only inputs are
// content-typed at plain s0 (readable by every VM, writable by none).
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
  std::string image_type = "bulwark_image_t";     // jail dir and writable files
  std::string content_type = "bulwark_content_t"; // read-only inputs (kernel, initrd, ...)
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
// "system_u:object_r:bulwark_content_t:s0"
std::string content_file_context(const SvirtTypes& types);

}  // namespace bulwark::jailer
