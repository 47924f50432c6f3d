#include "bench/vhost_user_blk/workload.h"

#include <algorithm>
#include <string>

namespace bulwark::bench {
namespace {

// xorshift64*: cheap and deterministic; quality is irrelevant for picking block offsets.
class OffsetGenerator {
 public:
  uint64_t next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545f4914f6cdd1dull;
  }

 private:
  uint64_t state_ = 0x9e3779b97f4a7c15ull;
};

}  // namespace

std::vector<Workload> standard_workloads() {
  return {
      {"randread-4k-qd1", false, false, 4096, 1},    {"randread-4k-qd32", false, false, 4096, 32},
      {"randwrite-4k-qd1", true, false, 4096, 1},    {"randwrite-4k-qd32", true, false, 4096, 32},
      {"seqread-128k-qd1", false, true, 131072, 1},  {"seqread-128k-qd32", false, true, 131072, 32},
  };
}

std::optional<Workload> find_workload(const std::string& name) {
  for (const Workload& workload : standard_workloads()) {
    if (workload.name == name) return workload;
  }
  return std::nullopt;
}

Result<WorkloadResult> run_workload(BlkClient& client, const Workload& workload, uint64_t image_bytes,
                                    std::chrono::milliseconds duration, uint64_t max_requests) {
  const uint64_t blocks = image_bytes / workload.block_bytes;
  if (blocks == 0) return Error("image smaller than one " + std::to_string(workload.block_bytes) + "-byte block");
  if (workload.queue_depth == 0 || workload.queue_depth > BlkClient::kMaxSlots) return Error("bad queue depth");
  const uint64_t sectors_per_block = workload.block_bytes / 512;
  OffsetGenerator random;
  uint64_t next_sequential = 0;
  auto next_request = [&] {
    uint64_t block = 0;
    if (workload.sequential) {
      block = next_sequential;
      next_sequential = (next_sequential + 1) % blocks;
    } else {
      block = random.next() % blocks;
    }
    return BlkRequest{workload.write, block * sectors_per_block, workload.block_bytes};
  };
  if (workload.write) {
    for (uint16_t slot = 0; slot < workload.queue_depth; ++slot) {
      auto data = client.buffer(slot);
      std::fill(data.begin(), data.end(), static_cast<uint8_t>(0xa5 ^ slot));
    }
  }

  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + duration;
  uint16_t in_flight = 0;
  uint64_t submitted = 0;
  for (uint16_t slot = 0; slot < workload.queue_depth && (max_requests == 0 || submitted < max_requests); ++slot) {
    client.submit(slot, next_request());
    ++in_flight;
    ++submitted;
  }
  BULWARK_TRY(client.kick());
  WorkloadResult result;
  bool submitting = true;
  while (in_flight > 0) {
    auto slot = client.wait_completion();
    if (!slot.ok()) return slot.error().wrap(workload.name);
    ++result.requests;
    --in_flight;
    if (submitting && std::chrono::steady_clock::now() >= deadline) submitting = false;
    if (max_requests != 0 && submitted >= max_requests) submitting = false;
    if (submitting) {
      client.submit(*slot, next_request());
      ++in_flight;
      ++submitted;
      // One kick per request, as a driver that ignores VRING_USED_F_NO_NOTIFY: equal for every backend.
      BULWARK_TRY(client.kick());
    }
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace bulwark::bench
