// Tenant-named files, opened with the VM's uid/gid as the filesystem identity: a tenant can only
// hand its VM (or get relabelled) a file its VM user could open anyway.
#pragma once

#include <sys/types.h>

#include <string>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"

namespace bulwark::jail {

struct VmUserFile {
  UniqueFd fd;
  std::string resolved_path;  // the canonical path, checked to name the opened file
  uint64_t size = 0;
};

// Opens `path` (O_CLOEXEC added) as uid/gid and checks that it is a regular file and that its
// canonical path still names the same inode (so labelling that path labels this file).
Result<VmUserFile> open_as_vm_user(const std::string& path, int flags, uid_t uid, gid_t gid);

}  // namespace bulwark::jail
