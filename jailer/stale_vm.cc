#include "jailer/stale_vm.h"

#include <sys/stat.h>

#include <filesystem>

#include "jailer/cgroup.h"
#include "jailer/jail_dir.h"

namespace bulwark::jail {

Result<jailer::HostReservation> claim_vm_id(const std::string& run_dir, const std::string& vm_id) {
  auto dir = jailer::ReservationDirectory::open_or_create(std::filesystem::path(run_dir) / "vms");
  if (!dir.ok()) return dir.error().wrap("VM id");
  const std::string name = vm_id + ".lock";
  auto claimed = jailer::HostReservation::try_claim(*dir, name, vm_id);
  if (!claimed.ok()) return claimed.error().wrap("VM id");
  if (!claimed->has_value()) {
    return Error("VM id " + vm_id + " is already running: held by " +
                 jailer::describe_holder(*dir, name));
  }
  return std::move(**claimed);
}

Result<std::vector<std::string>> remove_stale_reservations(const std::string& run_dir,
                                                           const std::string& vm_id) {
  std::vector<std::string> removed;
  for (const char* kind : {"ids", "mcs"}) {
    const std::filesystem::path path = std::filesystem::path(run_dir) / kind;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) continue;
    auto dir = jailer::ReservationDirectory::open_or_create(path);
    if (!dir.ok()) return dir.error();
    auto names = jailer::remove_stale_reservations_of(*dir, vm_id);
    if (!names.ok()) return names.error().wrap(path.string());
    for (const std::string& name : *names) removed.push_back((path / name).string());
  }
  return removed;
}

Result<std::vector<std::string>> sweep_leftovers(const JailSpec& spec) {
  std::vector<std::string> removed;
  const std::string instance = jail_instance_dir(spec);
  struct stat st{};
  if (::lstat(instance.c_str(), &st) == 0) {
    BULWARK_TRY(remove_tree(instance));
    removed.push_back(instance);
  }
  auto cgroups = remove_leftover_cgroup(spec.cgroup_root, spec.cgroup_parent, spec.vm_id);
  if (!cgroups.ok()) return cgroups.error();
  removed.insert(removed.end(), cgroups->begin(), cgroups->end());
  return removed;
}

}  // namespace bulwark::jail
