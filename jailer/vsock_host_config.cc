#include "jailer/vsock_host_config.h"

#include "jailer/jail_config.h"
#include "jailer/json_fields.h"
#include "monitor/config/message_text.h"
#include "monitor/config/strict_json.h"

namespace bulwark::jail {

Status read_host_vsock_config(const nlohmann::json& value, const std::string& path, VsockHostConfig& vsock) {
  const auto* members = value.get_ptr<const nlohmann::json::object_t*>();
  if (members == nullptr) return Error(path + ": expected an object, got " + config::describe_json_value(value));
  VsockHostConfig read;
  for (const auto& [key, member] : *members) {
    const std::string member_path = config::json_pointer_child(path, key);
    Status status = ok_status();
    if (key == "dir") {
      status = read_json_string(member, check_base_dir, &read.dir);
    } else if (key == "max_connections") {
      status = read_json_integer(member, 1, kMaxVsockMaxConnections, &read.max_connections);
    } else if (key == "buf_alloc_bytes") {
      status = read_json_integer(member, kMinVsockBufAllocBytes, kMaxVsockBufAllocBytes, &read.buf_alloc_bytes);
    } else {
      return Error(member_path + ": unknown field (dir, max_connections or buf_alloc_bytes)");
    }
    if (!status.ok()) return status.error().wrap(member_path);
  }
  if (read.dir.empty()) {
    return Error(config::json_pointer_child(path, "dir") +
                 ": required: the directory each VM's vsock sockets are made in (<dir>/<vm id>/)");
  }
  vsock = std::move(read);
  return ok_status();
}

std::string describe_vsock_host_config(const VsockHostConfig& vsock) {
  if (!vsock.enabled()) return "  vsock = (none: VMs may not have a vsock device)\n";
  return "  vsock.dir = " + vsock.dir + "\n  vsock.max_connections = " + std::to_string(vsock.max_connections) +
         "\n  vsock.buf_alloc_bytes = " + std::to_string(vsock.buf_alloc_bytes) + "\n";
}

}  // namespace bulwark::jail
