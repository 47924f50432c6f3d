#include "jailer/vsock_config.h"

#include <sys/un.h>

#include "jailer/json_fields.h"
#include "monitor/config/message_text.h"
#include "monitor/config/strict_json.h"

namespace bulwark::jail {

namespace {

using nlohmann::json;

constexpr size_t kMaxSocketPathBytes = sizeof(sockaddr_un{}.sun_path) - 1;  // 107

}  // namespace

Status check_vsock_uds_name(std::string_view name) {
  if (name.size() > kMaxVsockUdsNameBytes || !is_plain_component(name)) {
    return Error("expected a file name of 1 to 64 bytes of [A-Za-z0-9_.-], not \".\" or \"..\" (it is made in the "
                 "operator's vsock directory), got " + config::quoted_text(name));
  }
  return ok_status();
}

Status read_vsock(const json& value, const std::string& path, VsockSettings& vsock) {
  const auto* members = value.get_ptr<const json::object_t*>();
  if (members == nullptr) return Error(path + ": expected an object, got " + config::describe_json_value(value));
  VsockSettings read;
  bool has_cid = false, has_path = false;
  for (const auto& [key, member] : *members) {
    const std::string field = config::json_pointer_child(path, key);
    Status status = ok_status();
    if (key == "guest_cid") {
      status = read_json_integer(member, kMinVsockGuestCid, kMaxVsockGuestCid, &read.guest_cid);
      has_cid = true;
    } else if (key == "uds_path") {
      status = read_json_string(member, check_vsock_uds_name, &read.uds_path);
      has_path = true;
    } else if (key == "dir" || key == "max_connections" || key == "buf_alloc_bytes") {
      return Error(field + ": an operator setting; a VM config may not set it (the host config's vsock." + key + ")");
    } else {
      // Firecracker's "vsock_id" names the device for its API; there is one per VM here.
      return Error(field + ": unknown field (guest_cid or uds_path)");
    }
    if (!status.ok()) return status.error().wrap(field);
  }
  if (!has_cid) return Error(path + "/guest_cid: required");
  if (!has_path) return Error(path + "/uds_path: required");
  vsock = std::move(read);
  return ok_status();
}

std::string vm_vsock_dir(const VsockHostConfig& host, const std::string& vm_id) { return host.dir + "/" + vm_id; }

std::string vm_vsock_socket_path(const VsockHostConfig& host, const std::string& vm_id, const VsockSettings& vsock) {
  return vm_vsock_dir(host, vm_id) + "/" + vsock.uds_path;
}

Status check_vsock_against_host(const VsockHostConfig& host, const std::string& vm_id, const VsockSettings& vsock) {
  if (!host.enabled()) {
    return Error("config: /vsock: a vsock device is not available on this host: the operator's host config has no "
                 "\"vsock\" (with its \"dir\")");
  }
  if (Status name = check_vsock_uds_name(vsock.uds_path); !name.ok()) return name.error().wrap("config: /vsock/uds_path");
  if (vsock.guest_cid < kMinVsockGuestCid || vsock.guest_cid > kMaxVsockGuestCid) {
    return Error("config: /vsock/guest_cid: expected 3 .. 4294967294, got " + std::to_string(vsock.guest_cid));
  }
  const std::string socket = vm_vsock_socket_path(host, vm_id, vsock);
  if (socket.size() + kVsockPortSuffixBytes > kMaxSocketPathBytes) {
    return Error("config: /vsock/uds_path: the host socket " + config::quoted_text(socket) + " would be " +
                 std::to_string(socket.size()) + " bytes; with \"_<port>\" it must fit the " +
                 std::to_string(kMaxSocketPathBytes) + " bytes of a unix socket address (a shorter uds_path, or a "
                 "shorter vsock.dir in the host config)");
  }
  return ok_status();
}

}  // namespace bulwark::jail
