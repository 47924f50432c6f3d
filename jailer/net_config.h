// The network side of the launcher's configs: the operator's host config "net" (where TAPs go,
// ceilings, allowed_ips per VM; root-owned input) and the tenant's VM config "nets" (NICs asked
// for within those ceilings; hostile input parsed by a root process, so every value is checked
// here before anything exists). See host_config.h and jail_config.h for the file formats.
// Pure: no system access, so the configs' fuzz targets reach all of it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "bulwark/common/result.h"
#include "jailer/host_config.h"
#include "jailer/jail_config.h"

namespace bulwark::jail {

inline constexpr size_t kMaxTapPrefixBytes = 3;
inline constexpr size_t kMaxNetIdBytes = 15;
inline constexpr size_t kMaxAllowedIpsPerNic = 64;
inline constexpr uint64_t kMaxRefillTimeMs = 3'600'000;
inline constexpr uint64_t kMaxBucketSize = uint64_t{1} << 40;

// host config "/net" (errors name the member: "/net/max_mtu: ...").
Status read_host_net_config(const nlohmann::json& value, const std::string& path, NetHostConfig& net);
// {"bandwidth": bucket, "ops": bucket} with Firecracker's bucket fields (size, refill_time in
// ms, one_time_burst): a NIC's direction or a disk's rate_limiter.
Status read_rate_pair(const nlohmann::json& value, const std::string& path, RateBucket& bytes, RateBucket& ops);
// VM config "/nets".
Status read_nets(const nlohmann::json& value, std::vector<NetSettings>& nets);
// Rules on the tenant's NICs that need no operator setting: ids unique and well formed, MACs
// unicast and not zero, MTU and queue pairs within the absolute limits, buckets well formed.
Status validate_nets(const std::vector<NetSettings>& nets);
// "--allowed-ips NIC=PREFIX[,PREFIX...]" (bulwark run) into choices.
Status parse_allowed_ips_flag(std::string_view text, std::map<std::string, std::vector<std::string>>& out);

// A NIC's rate limits within the operator's ceilings (net.rate_limit): a limit not asked for
// becomes the ceiling, a faster one or a burst above a second's worth is refused, the error
// naming `path` + "/rx/bandwidth" etc. The one check for a VM config's NICs and PATCH
// /network-interfaces alike.
Status apply_net_rate_ceilings(const NetHostConfig& host, const std::string& path, NetRateLimiter& limits);

// Against the operator's net settings: the NIC count, MTU and queue ceilings, each rate limit at
// most the ceiling (a limit the tenant did not ask for becomes the ceiling), a derived MAC where
// none was given, allowed_ips from the host config (for this VM id) with the flag's over them,
// and the placement. Errors start with "config: /nets..." or name the flag.
Status apply_net_settings(const NetHostConfig& host, const std::string& vm_id,
                          const std::map<std::string, std::vector<std::string>>& flag_allowed_ips,
                          LaunchConfig& config);

// The TAP name of NIC `index` of the VM with `uid`: "<prefix><uid>n<index>" (at most 15 bytes:
// the prefix has at most 3). The uid is reserved host-wide while the VM runs, so two VMs never
// ask for the same name.
std::string tap_name(const NetPlacement& placement, uint32_t uid, size_t index);

// The MAC of a NIC the tenant gave none: locally administered unicast (02:xx:xx:xx:xx:xx) from a
// hash of the VM id and the NIC id, the same on every launch.
std::string derived_mac(std::string_view vm_id, std::string_view nic_id);

// The "net.*" lines of `bulwark policy show`'s host settings.
std::string describe_net_host_config(const NetHostConfig& net);

}  // namespace bulwark::jail
