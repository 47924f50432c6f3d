// Reading the launcher's two config files: the operator's host config (root-owned, checked as
// such) and the tenant's VM config. Both are opened without blocking and must be regular files,
// so a FIFO or a device named as a config is refused instead of hanging or streaming forever.
#pragma once

#include <string>

#include "bulwark/common/result.h"
#include "jailer/host_config.h"

namespace bulwark::jail {

inline constexpr size_t kMaxConfigFileBytes = 1 << 20;

// The whole regular file at `path`, at most kMaxConfigFileBytes. Errors name the path (quoted).
Result<std::string> read_regular_config_file(const std::string& path);

// The host config at `path`. It must be owned by root and writable by nobody else (neither the
// file nor its directory), else anyone who could write it would choose what root does. When
// `path` is the default and does not exist, the built-in defaults are returned (`*found` false).
Result<HostConfig> load_host_config(const std::string& path, bool explicitly_given, bool* found);

}  // namespace bulwark::jail
