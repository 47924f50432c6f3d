// The tenant's VM config (jailer/jail_config.h): tenant-written JSON parsed by the root launcher.
// Any input must give a config or an error, never a crash; an accepted config, applied under the
// default host config, must be refused or stay within the operator's ceilings and pass the
// launcher's own validation, and no accepted config may name an operator setting.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "jailer/jail_config.h"
#include "jailer/vm_id.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
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
    auto copy = *parsed;
    const char* netns = size % 2 == 0 ? "tenant-a" : "tenant-b";
    if (bulwark::jail::apply_operator_settings(strict, {"vm-1", netns}, copy).ok()) {
      if (copy.vm.vcpus > 1 || copy.vm.memory_mib > 64 || copy.disks.size() > 1) std::abort();
      if (copy.jail.netns != "tenant-a") std::abort();
    }
  }
  const bulwark::jail::HostConfig host;
  if (!bulwark::jail::apply_operator_settings(host, {"vm-1", ""}, *parsed).ok()) return 0;
  if (!bulwark::jail::validate_launch_config(*parsed).ok()) std::abort();
  const auto& jail = parsed->jail;
  if (jail.id != "vm-1" || jail.uid != 0 || jail.gid != 0 || !jail.netns.empty()) std::abort();
  if (parsed->vm.vcpus > host.vm_limits.max_vcpus) std::abort();
  if (parsed->vm.memory_mib > host.vm_limits.max_memory_mib) std::abort();
  if (parsed->disks.size() > host.vm_limits.max_disks) std::abort();
  return 0;
}
