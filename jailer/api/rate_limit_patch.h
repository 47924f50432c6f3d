// PATCH /drives/{id} and PATCH /network-interfaces/{id}: a running device's new rate limits,
// from the API client's typed command (bulwark-api parsed the request). Checked by exactly the
// code that checks a vm.json's rate_limiter (read_rate_pair: each bucket's bounds) and, for a
// NIC, the operator's ceilings (apply_net_rate_ceilings): one code path. Firecracker's PATCH
// semantics: a bucket the request leaves out keeps its limit; one with size 0 removes it (for a
// NIC, the operator's ceiling then applies, as for a vm.json that asked for none). Pure.
#pragma once

#include <string>

#include "api/command/command.h"
#include "bulwark/common/result.h"
#include "jailer/host_config.h"
#include "jailer/jail_config.h"

namespace bulwark::jail {

// A disk's limits (bytes, requests) after `patch`; unchanged on error. `path` names the drive in
// errors ("/drives/rootfs/rate_limiter").
Status patch_disk_rate_limits(const api::RateLimiter& patch, const std::string& path, RateBucket& bytes, RateBucket& ops);

// A NIC's limits after the rx and tx patches, within the operator's ceilings; unchanged on error.
Status patch_net_rate_limits(const NetHostConfig& host, const api::RateLimiter& rx, const api::RateLimiter& tx,
                             const std::string& path, NetRateLimiter& limits);

}  // namespace bulwark::jail
