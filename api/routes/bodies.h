// Firecracker's request bodies (its firecracker.yaml definitions, plus Bulwark's few extra
// fields; api/openapi.yaml documents both) to the typed commands of api/command/command.h. The
// input is the API client's (the operator's control plane, reaching the jailed bulwark-api):
// each body is already a parsed JSON object; every field is typed and bounded here so that the
// command is one decode_command accepts, and anything unknown or unsupported is refused with an
// error naming the field ("body field path_on_host: expected a string, got 1").
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "api/command/command.h"
#include "bulwark/common/result.h"

namespace bulwark::api::body {

// `id` is the path's {drive_id} / {iface_id}, already checked by the router.
Result<PutBootSource> put_boot_source(const nlohmann::json& body);
Result<PutMachineConfig> put_machine_config(const nlohmann::json& body);
Result<PutDrive> put_drive(std::string_view id, const nlohmann::json& body);
Result<PatchDrive> patch_drive(std::string_view id, const nlohmann::json& body);
Result<PutNetworkInterface> put_network_interface(std::string_view id, const nlohmann::json& body);
Result<PatchNetworkInterface> patch_network_interface(std::string_view id,
                                                      const nlohmann::json& body);
Result<PutEntropy> put_entropy(const nlohmann::json& body);
// PUT /actions: InstanceStart, SendCtrlAltDel, FlushMetrics or Shutdown.
Result<Command> put_action(const nlohmann::json& body);
Result<SetVmState> patch_vm(const nlohmann::json& body);
Result<PutLogger> put_logger(const nlohmann::json& body);
Result<PutMetrics> put_metrics(const nlohmann::json& body);
// PUT /vsock: Firecracker's Vsock (guest_cid and uds_path required; vsock_id, its deprecated
// device id, optional and only reported back). uds_path is only bounded here: the launcher
// holds it to vm.json's rule (a plain name in the operator's vsock directory).
Result<PutVsock> put_vsock(const nlohmann::json& body);
// PUT /tpm: Bulwark's {"enabled": bool}, required.
Result<PutTpm> put_tpm(const nlohmann::json& body);

}  // namespace bulwark::api::body
