#include "jailer/api/rate_limit_patch.h"

#include <nlohmann/json.hpp>

#include "jailer/api/pending_vm.h"
#include "jailer/net_config.h"

namespace bulwark::jail {

Status patch_disk_rate_limits(const api::RateLimiter& patch, const std::string& path, RateBucket& bytes, RateBucket& ops) {
  // The buckets that limit go through a vm.json's reader; size 0 means "no limit".
  RateBucket parsed_bytes, parsed_ops;
  const nlohmann::json as_vm_json = nlohmann::json::parse(rate_limiter_json(patch).dump(), nullptr, false);
  BULWARK_TRY(read_rate_pair(as_vm_json, path, parsed_bytes, parsed_ops));
  if (patch.bandwidth) bytes = patch.bandwidth->size == 0 ? RateBucket{} : parsed_bytes;
  if (patch.ops) ops = patch.ops->size == 0 ? RateBucket{} : parsed_ops;
  return ok_status();
}

Status patch_net_rate_limits(const NetHostConfig& host, const api::RateLimiter& rx, const api::RateLimiter& tx,
                             const std::string& path, NetRateLimiter& limits) {
  NetRateLimiter trial = limits;
  BULWARK_TRY(patch_disk_rate_limits(rx, path + "/rx", trial.rx_bytes, trial.rx_packets));
  BULWARK_TRY(patch_disk_rate_limits(tx, path + "/tx", trial.tx_bytes, trial.tx_packets));
  BULWARK_TRY(apply_net_rate_ceilings(host, path, trial));
  limits = trial;
  return ok_status();
}

}  // namespace bulwark::jail
