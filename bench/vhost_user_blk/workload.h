// The timed workloads: keep `queue_depth` requests in flight for a fixed time and count
// completions. Offsets come from a fixed-seed generator so every backend sees the same sequence.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/vhost_user_blk/blk_client.h"
#include "bulwark/common/result.h"

namespace bulwark::bench {

struct Workload {
  std::string name;  // e.g. "randread-4k-qd1"
  bool write = false;
  bool sequential = false;
  uint32_t block_bytes = 0;
  uint16_t queue_depth = 0;
};

// The standard set: 4 KiB random read/write at QD 1 and 32, 128 KiB sequential read at QD 1 and 32.
std::vector<Workload> standard_workloads();
std::optional<Workload> find_workload(const std::string& name);

struct WorkloadResult {
  uint64_t requests = 0;
  double seconds = 0;
  double iops() const { return seconds > 0 ? static_cast<double>(requests) / seconds : 0; }
};

// Runs for `duration`, or until `max_requests` requests have been submitted when that is not 0
// (bench/vhost_user_blk.sh caps the writes to a fresh qcow2, each of which allocates a cluster,
// so the image stays a bounded size on /dev/shm).
Result<WorkloadResult> run_workload(BlkClient& client, const Workload& workload, uint64_t image_bytes,
                                    std::chrono::milliseconds duration, uint64_t max_requests = 0);

}  // namespace bulwark::bench
