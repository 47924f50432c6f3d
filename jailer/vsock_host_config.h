// The operator's host config "vsock" (root-owned input): whether VMs on this host may have a
// virtio-vsock device (bulwark-dev-vsock, devices/vsock/README.md) and where their host-side
// sockets live. Absent: no VM gets one, and a VM config asking for one ("vsock", the tenant's)
// is refused by name (vsock_config.cc).
//
//   "vsock": {
//     "dir": "/run/bulwark/vsock",    required: each VM's sockets in <dir>/<vm id>/, made by the
//                                     launcher (root:<VM gid>, 02750) and removed at teardown
//                                     and by the stale-VM sweep; <dir> itself is never removed
//     "max_connections": 64,          bulwark-dev-vsock --max-connections: connections per VM
//                                     (host clients still writing their CONNECT line count),
//                                     1..4096
//     "buf_alloc_bytes": 262144       bulwark-dev-vsock --buf-alloc: the most bytes the device
//                                     holds per connection for a host peer, 4096..16777216
//   }
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "bulwark/common/result.h"

namespace bulwark::jail {

inline constexpr uint64_t kDefaultVsockMaxConnections = 64;
inline constexpr uint64_t kMaxVsockMaxConnections = 4096;
// bulwark-dev-vsock's own default and bounds for --buf-alloc (devices/vsock/main.cc).
inline constexpr uint64_t kDefaultVsockBufAllocBytes = 262144;
inline constexpr uint64_t kMinVsockBufAllocBytes = 4096;
inline constexpr uint64_t kMaxVsockBufAllocBytes = uint64_t{1} << 24;

struct VsockHostConfig {
  std::string dir;  // "" = no vsock devices on this host
  uint64_t max_connections = kDefaultVsockMaxConnections;
  uint64_t buf_alloc_bytes = kDefaultVsockBufAllocBytes;

  bool enabled() const { return !dir.empty(); }
  friend bool operator==(const VsockHostConfig&, const VsockHostConfig&) = default;
};

// Errors name the JSON path (`/vsock/dir: ...`). dir is required in the object and follows the
// jail base dir's rule (absolute, plain components, not "/").
Status read_host_vsock_config(const nlohmann::json& value, const std::string& path, VsockHostConfig& vsock);
std::string describe_vsock_host_config(const VsockHostConfig& vsock);

}  // namespace bulwark::jail
