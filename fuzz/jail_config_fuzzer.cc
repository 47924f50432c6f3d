// The tenant's VM config (jailer/jail_config.h): tenant-written JSON parsed by the root launcher.
// Any input must give a config or an error, never a crash; an accepted config, applied under the
// operator's host config, must be refused or stay within the operator's ceilings and pass the
// launcher's own validation, and no accepted config may name an operator setting.
//
// Input: the tenant's JSON alone (applied under the default host config), or
// "<host config JSON>\0<tenant JSON>": the operator's host config then comes from the input too
// (parse_host_config; a refused one falls back to the default), so the field rules a host config
// goes through (base_dir, cgroup_parent, cpuset, netns names, selinux mode, id ranges: in
// jail_config.cc and json_fields.cc) and their combination with the tenant's file are fuzzed by
// this target as well. The VM id the operator picks is then "vm-1" or, for one input length in
// three, 60 characters (longer than a VM with devices may have).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <algorithm>
#include <map>
#include <vector>

#include "jailer/host_config.h"
#include "jailer/jail_config.h"
#include "jailer/net_config.h"
#include "jailer/vm_id.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view text = input;
  bulwark::jail::HostConfig host;
  bulwark::jail::OperatorChoices choices{"vm-1", "", {}};
  if (const size_t nul = input.find('\0'); nul != std::string_view::npos) {
    text = input.substr(nul + 1);
    auto operator_config = bulwark::jail::parse_host_config(input.substr(0, nul));
    // The operator's --allowed-ips flag text, from the same bytes.
    std::map<std::string, std::vector<std::string>> flag_ips;
    if (bulwark::jail::parse_allowed_ips_flag(input.substr(0, std::min<size_t>(nul, 256)), flag_ips).ok()) {
      if (flag_ips.size() != 1 || flag_ips.begin()->second.empty()) std::abort();
      choices.allowed_ips = flag_ips;
    }
    if (operator_config.ok()) {
      host = std::move(*operator_config);
      if (bulwark::jail::describe_host_config(host).empty()) std::abort();
      if (size % 3 == 0) choices.vm_id = "vm-" + std::string(57, 'a');
      // A listed netns, or one the host config does not list (refused).
      if (!host.network_namespaces.empty()) choices.netns = host.network_namespaces.front();
      if (size % 2 == 1) choices.netns = "not-listed";
    }
  }
  auto parsed = bulwark::jail::parse_launch_config(text);
  if (!parsed.ok()) {
    if (parsed.error().message().rfind("config", 0) != 0) std::abort();  // every error says where
    return 0;
  }
  // The tenant's file never sets the jail: it comes out untouched.
  if (!(parsed->jail == bulwark::jail::JailSettings{})) std::abort();
  // A strict operator too: one vCPU, 64 MiB, one disk, a netns it does not list.
  {
    bulwark::jail::HostConfig strict;
    strict.vm_limits.max_vcpus = 1;
    strict.vm_limits.max_memory_mib = 64;
    strict.vm_limits.max_disks = 1;
    strict.network_namespaces = {"tenant-a"};
    // One NIC, 1500 bytes, one pair, 1 MB/s and 1000 packets/s each way, one allowed address.
    strict.net.max_nets = 1;
    strict.net.rx_bytes_per_sec = strict.net.tx_bytes_per_sec = 1000000;
    strict.net.rx_packets_per_sec = strict.net.tx_packets_per_sec = 1000;
    strict.net.allowed_ips["vm-1"]["net0"] = {"10.0.0.2/32"};
    auto copy = *parsed;
    const char* netns = size % 2 == 0 ? "tenant-a" : "tenant-b";
    if (bulwark::jail::apply_operator_settings(strict, {"vm-1", netns, {}}, copy).ok()) {
      if (copy.vm.vcpus > 1 || copy.vm.memory_mib > 64 || copy.disks.size() > 1) std::abort();
      if (copy.jail.netns != "tenant-a") std::abort();
      if (copy.nets.size() > 1) std::abort();
      for (const auto& nic : copy.nets) {
        if (nic.mtu > 1500 || nic.queues != 1 || nic.mac.empty()) std::abort();
        // Every direction limited, never faster than the ceiling.
        for (const auto* bucket : {&nic.rate_limiter.rx_bytes, &nic.rate_limiter.tx_bytes}) {
          if (!bucket->limited() || bucket->size * 1000 > 1000000 * bucket->refill_time_ms) std::abort();
        }
        for (const auto* bucket : {&nic.rate_limiter.rx_packets, &nic.rate_limiter.tx_packets}) {
          if (!bucket->limited() || bucket->size * 1000 > 1000 * bucket->refill_time_ms) std::abort();
        }
        // Source addresses are the operator's alone.
        const std::vector<std::string> expected =
            nic.id == "net0" ? std::vector<std::string>{"10.0.0.2/32"} : std::vector<std::string>{};
        if (nic.allowed_ips != expected) std::abort();
      }
    }
  }
  if (!bulwark::jail::apply_operator_settings(host, choices, *parsed).ok()) return 0;
  if (!bulwark::jail::validate_launch_config(*parsed).ok()) std::abort();
  const auto& jail = parsed->jail;
  if (jail.id != choices.vm_id || jail.uid != 0 || jail.gid != 0 || jail.netns != choices.netns) {
    std::abort();
  }
  if (!jail.netns.empty()) {  // only a netns the operator lists
    bool listed = false;
    for (const auto& name : host.network_namespaces) listed = listed || name == jail.netns;
    if (!listed) std::abort();
  }
  if (jail.base_dir != host.base_dir || jail.cgroup_parent != host.cgroup_parent ||
      jail.cpuset != host.vm_limits.cpuset || jail.selinux != host.selinux) {
    std::abort();
  }
  if (jail.id_range_first != host.id_range_first || jail.id_range_last != host.id_range_last) {
    std::abort();
  }
  if ((!parsed->disks.empty() || parsed->rng) && jail.id.size() > bulwark::jail::kMaxVmIdWithDevices) {
    std::abort();
  }
  if (parsed->vm.vcpus > host.vm_limits.max_vcpus) std::abort();
  if (parsed->vm.memory_mib > host.vm_limits.max_memory_mib) std::abort();
  if (parsed->disks.size() > host.vm_limits.max_disks) std::abort();
  // A vsock only where the operator has a vsock directory; its socket a plain name inside the
  // VM's own directory there, with room for "_<port>" in a unix socket address.
  if (parsed->vsock) {
    if (!host.vsock.enabled() || !(parsed->vsock_host == host.vsock)) std::abort();
    const auto& vsock = *parsed->vsock;
    if (vsock.guest_cid < 3 || vsock.guest_cid > 0xFFFFFFFEu) std::abort();
    if (vsock.uds_path.empty() || vsock.uds_path.find('/') != std::string::npos || vsock.uds_path == "." ||
        vsock.uds_path == "..") {
      std::abort();
    }
    const std::string socket = bulwark::jail::vm_vsock_socket_path(host.vsock, jail.id, vsock);
    if (socket.rfind(host.vsock.dir + "/" + jail.id + "/", 0) != 0 || socket.size() + 11 > 107) std::abort();
    if (jail.id.size() > bulwark::jail::kMaxVmIdWithVsock) std::abort();
  } else if (parsed->vsock_host.enabled()) {
    std::abort();
  }
  return 0;
}
