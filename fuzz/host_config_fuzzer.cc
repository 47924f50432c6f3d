// The operator's host config (jailer/host_config.h). Root-owned input, but a mistake in it must
// still give an error naming the field, never a crash; an accepted config must hold only values
// the launcher can use as they are (plain paths and names, sane ranges).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "jailer/host_config.h"
#include "jailer/jail_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = bulwark::jail::parse_host_config(text);
  if (!parsed.ok()) {
    if (parsed.error().message().rfind("host config", 0) != 0) std::abort();
    return 0;
  }
  const auto& host = *parsed;
  if (!bulwark::jail::check_base_dir(host.base_dir).ok()) std::abort();
  if (!bulwark::jail::check_base_dir(host.run_dir).ok()) std::abort();
  if (!bulwark::jail::check_cgroup_parent(host.cgroup_parent).ok()) std::abort();
  if (!bulwark::jail::check_cpuset(host.vm_limits.cpuset).ok()) std::abort();
  if (host.id_range_first == 0 || host.id_range_first > host.id_range_last) std::abort();
  if (host.mcs_first >= host.mcs_last || host.mcs_last > 1023) std::abort();
  for (const auto& name : host.network_namespaces) {
    if (name.empty() || !bulwark::jail::check_netns_name(name).ok()) std::abort();
  }
  (void)bulwark::jail::describe_host_config(host);
  return 0;
}
