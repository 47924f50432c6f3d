// The operator's host config "api" (host_config.h shows the shape): which bulwark-api binary
// runs, the API socket's group, and the directories whose files API requests may name. Root-owned
// input; pure, fuzzed with the rest of the host config (fuzz/host_config_fuzzer.cc).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "bulwark/common/result.h"
#include "jailer/host_config.h"

namespace bulwark::jail {

Status read_host_api_config(const nlohmann::json& value, const std::string& path, ApiHostConfig& api);
std::string describe_api_host_config(const ApiHostConfig& api);

// An API request's file name, resolved inside the operator's directories: either a relative
// name ("vm-1/disk.qcow2": under the first directory) or an absolute path below one of them.
// Decided on the text alone (the file is later opened as the VM's user, so a symlink inside an
// operator directory reaches only what that user may open): no "..", "." or empty components, no
// NUL or control bytes. `what` names the field in the message. No directories: refused.
Result<std::string> resolve_in_operator_dirs(const std::vector<std::string>& dirs, std::string_view name,
                                             std::string_view what, std::string_view dirs_field);

}  // namespace bulwark::jail
