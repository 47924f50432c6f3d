// The launcher's config file (jailer/jail_config.h): tenant-written JSON. Any input must give a
// config or an error, never a crash; an accepted config must pass the launcher's own validation
// and carry a valid VM id, ids as a pair or none, a sane id range and a known selinux mode.
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
  if (!bulwark::jail::validate_launch_config(*parsed).ok()) std::abort();
  if (!bulwark::jail::validate_vm_id(parsed->jail.id).ok()) std::abort();
  // Ids are a pair or absent (0, 0: allocated later); never root on one side only.
  const auto& jail = parsed->jail;
  if ((jail.uid == 0) != (jail.gid == 0)) std::abort();
  if (jail.id_range_first == 0 || jail.id_range_first > jail.id_range_last) std::abort();
  if (jail.selinux != "enforce" && jail.selinux != "auto" && jail.selinux != "off") std::abort();
  return 0;
}
