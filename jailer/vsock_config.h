// The tenant's "vsock" in a VM config (`bulwark run vm.json`), Firecracker's field names:
//
//   "vsock": {"guest_cid": 3,          required, 3 .. 4294967294 (0, 1 and 2 are the hypervisor's,
//                                      the local and the host's CIDs; 2^32-1 is VMADDR_CID_ANY)
//             "uds_path": "v.sock"}    required: a plain file name, 1..64 bytes of [A-Za-z0-9_.-],
//                                      not "." or ".."; resolved only inside the operator's vsock
//                                      directory, as <vsock.dir>/<vm id>/<uds_path>, never a
//                                      host path the tenant picks
//
// Tenant input, parsed by a root process. One vsock device per VM (an object, not a list).
// Refused by name when the operator's host config has no "vsock" (vsock_host_config.h). Why 64
// bytes and not Firecracker's 107: the device connects to "<uds_path>_<port>" (up to 11 more
// bytes) inside its jail as /vsock/<uds_path>, and the host's <dir>/<vm id>/ comes before it on
// the host; apply_vsock_settings checks the whole host path fits a unix socket address.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "bulwark/common/result.h"
#include "jailer/vsock_host_config.h"

namespace bulwark::jail {

inline constexpr uint64_t kMinVsockGuestCid = 3;
inline constexpr uint64_t kMaxVsockGuestCid = 0xFFFFFFFE;
inline constexpr size_t kMaxVsockUdsNameBytes = 64;
// "_4294967295": the suffix of the sockets the device connects to for a guest's connection.
inline constexpr size_t kVsockPortSuffixBytes = 11;

struct VsockSettings {
  uint64_t guest_cid = 0;
  std::string uds_path;  // a plain name inside the VM's vsock directory

  friend bool operator==(const VsockSettings&, const VsockSettings&) = default;
};

// A plain file name of at most 64 bytes. The message names no field.
Status check_vsock_uds_name(std::string_view name);
// The tenant's object; errors name the JSON pointer under `path` ("/vsock/guest_cid: ...").
Status read_vsock(const nlohmann::json& value, const std::string& path, VsockSettings& vsock);

// <dir>/<vm id>: the VM's own vsock directory, and the listening socket's path in it.
std::string vm_vsock_dir(const VsockHostConfig& host, const std::string& vm_id);
std::string vm_vsock_socket_path(const VsockHostConfig& host, const std::string& vm_id, const VsockSettings& vsock);

// Launch-time rules that need the operator's settings (apply_operator_settings): a vsock needs
// the host config's "vsock", and <dir>/<vm id>/<uds_path>_<port> must fit a unix socket
// address (sun_path). Errors start with "config: /vsock".
Status check_vsock_against_host(const VsockHostConfig& host, const std::string& vm_id, const VsockSettings& vsock);

}  // namespace bulwark::jail
