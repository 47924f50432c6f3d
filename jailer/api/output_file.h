// A file or FIFO the API client names for the VM's output (PUT /metrics' metrics_path, PUT
// /logger's log_path), already resolved inside the operator's api.output_dirs
// (api_host_config.h). The launcher (root) opens it itself, so it takes only a regular file or a
// FIFO, never follows a final symlink, and never blocks: a FIFO without a reader is refused at
// open (ENXIO), and writes to a full one fail (EAGAIN) instead of waiting.
#pragma once

#include <string>
#include <string_view>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"

namespace bulwark::jail {

// Opened for appending (created 0640 if missing), O_NONBLOCK and close-on-exec. `field` names the
// request field in errors ("metrics_path: open \"...\": No such file or directory").
Result<UniqueFd> open_output_file(const std::string& path, std::string_view field);

}  // namespace bulwark::jail
