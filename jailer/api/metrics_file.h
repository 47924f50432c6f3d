// PUT /metrics {"metrics_path"}: the VM's metrics as JSON lines appended to a file or FIFO the
// API client names inside the operator's api.output_dirs (Firecracker's metrics style: one object
// per flush, every 60 s and on PUT /actions FlushMetrics), opened by output_file.h's rules: a
// line a full FIFO cannot take is dropped and counted.
#pragma once

#include <string>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"

namespace bulwark::jail {

class MetricsFile {
 public:
  // `path` already resolved inside api.output_dirs (api_host_config.h).
  static Result<MetricsFile> open(const std::string& path);
  // Appends one line (a newline is added). A full FIFO or a failed write drops it: counted.
  void append(const std::string& json_line);
  uint64_t dropped() const { return dropped_; }

 private:
  MetricsFile() = default;
  UniqueFd fd_;
  uint64_t dropped_ = 0;
};

}  // namespace bulwark::jail
