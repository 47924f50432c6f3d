// The VM an API client configures before InstanceStart (Firecracker's pre-boot flow: PUT
// /boot-source, /machine-config, /drives/{id}, /network-interfaces/{id}, /entropy, /vsock, and
// Bulwark's PUT /tpm), kept as
// the typed values bulwark-api sent. vm_json() writes the vm.json a tenant would have written,
// so the assembled VM goes through exactly the checks a vm.json does (parse_launch_config, then
// apply_operator_settings against the operator's ceilings): one code path. Each PUT is checked
// at once the same way (a trial assembly), so a bad value is refused by the request that sent it.
// File names in requests are the operator's control plane's, resolved only inside the host
// config's api.image_dirs (api_host_config.h); the files are later opened as the VM's user.
// PUT /vsock's uds_path is a name in the operator's vsock directory, as vm.json's (vsock_config.h).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/command/command.h"
#include "bulwark/common/result.h"
#include "jailer/host_config.h"
#include "jailer/jail_config.h"

namespace bulwark::jail {

// Firecracker's RateLimiter as a vm.json's rate_limiter ({"bandwidth": ..., "ops": ...});
// a bucket with size 0, or none, is left out.
nlohmann::ordered_json rate_limiter_json(const api::RateLimiter& limiter);

class PendingVm {
 public:
  PendingVm(const HostConfig& host, OperatorChoices choices) : host_(host), choices_(std::move(choices)) {}

  // PutBootSource, PutMachineConfig, PutDrive, PutNetworkInterface, PutEntropy, PutVsock,
  // PutTpm: 204, or a 400 fault that leaves the pending VM as it was.
  api::Reply apply(const api::Command& command);
  // InstanceStart: the whole VM, checked; errors as a vm.json's ("config: /memory_mib: ...").
  Result<LaunchConfig> assemble() const;
  // GET /machine-config: Firecracker's MachineConfiguration.
  api::Reply machine_config() const;
  // GET /vm/config before start: Firecracker's FullVmConfiguration of what was PUT so far.
  api::Reply vm_config() const;
  // The vm.json text (its kernel may be missing: assemble() then refuses it).
  std::string vm_json() const;
  // The index in the assembled VM's disks of the drive PUT as `drive_id` (the root device is
  // disk 0, the others follow in PUT order); none when no drive has that id.
  std::optional<size_t> disk_index(std::string_view drive_id) const;
  // PUT /vsock's vsock_id ("" when none was PUT), only ever reported back.
  const std::string& vsock_id() const;

 private:
  Status check_with(const PendingVm& trial) const;

  const HostConfig& host_;
  OperatorChoices choices_;
  bool have_boot_source_ = false;
  api::PutBootSource boot_source_;  // paths resolved
  api::PutMachineConfig machine_{};
  std::vector<api::PutDrive> drives_;  // in PUT order; the root device goes first in the VM
  std::vector<api::PutNetworkInterface> nets_;
  bool entropy_ = false;
  std::optional<api::PutVsock> vsock_;  // uds_path without Firecracker's leading "./"
  bool tpm_ = false;
};

}  // namespace bulwark::jail
