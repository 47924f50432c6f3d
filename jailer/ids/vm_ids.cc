#include "jailer/ids/vm_ids.h"

#include <filesystem>
#include <limits>

#include "jailer/ids/host_id_usage.h"

namespace bulwark::jailer {
namespace {

std::string lock_name(uint32_t id) { return std::to_string(id) + ".lock"; }

std::string range_text(const VmIdRange& range) {
  return std::to_string(range.first) + ".." + std::to_string(range.last);
}

}  // namespace

Status validate_vm_id_range(const VmIdRange& range) {
  if (range.first == 0) return Error("VM uid/gid range " + range_text(range) + " includes root (0)");
  if (range.last < range.first) return Error("VM uid/gid range " + range_text(range) + " is empty");
  if (range.last == std::numeric_limits<uint32_t>::max())
    return Error("VM uid/gid range " + range_text(range) + " includes the invalid id 4294967295");
  return ok_status();
}

bool VmIds::reclaimed_stale() const {
  for (const auto& r : reservations_)
    if (r.reclaimed_stale()) return true;
  return false;
}

Result<VmIds> allocate_vm_ids(const VmIdsConfig& config, std::string_view vm_id) {
  BULWARK_TRY(validate_vm_id_range(config.range));
  BULWARK_TRY(validate_vm_id(vm_id));
  auto dir = ReservationDirectory::open_or_create(config.run_dir);
  if (!dir) return dir.error().wrap("VM uid/gid");
  const HostIdUsage usage = HostIdUsage::scan();
  uint64_t in_use_elsewhere = 0;
  for (uint64_t id = config.range.first; id <= config.range.last; ++id) {
    // Another run dir's VM, a service or an account may have it: never shared, whoever has it.
    // (Our own live VMs' processes run under theirs too: those count as held by live VMs.)
    if (!usage.user_of(static_cast<uint32_t>(id)).empty()) {
      std::error_code ec;
      if (!std::filesystem::exists(config.run_dir / lock_name(static_cast<uint32_t>(id)), ec)) ++in_use_elsewhere;
      continue;
    }
    auto claimed = HostReservation::try_claim(*dir, lock_name(static_cast<uint32_t>(id)), vm_id);
    if (!claimed) return claimed.error().wrap("VM uid/gid");
    if (!claimed->has_value()) continue;
    VmIds ids;
    ids.uid_ = static_cast<uid_t>(id);
    ids.gid_ = static_cast<gid_t>(id);
    ids.reservations_.push_back(std::move(**claimed));
    return ids;
  }
  const uint64_t count = uint64_t{config.range.last} - config.range.first + 1;
  if (in_use_elsewhere == 0) {
    return Error("VM uid/gid: no free id in " + range_text(config.range) + ": all " +
                 std::to_string(count) + " are held by live VMs (reservations in " +
                 config.run_dir.string() + ")");
  }
  return Error("VM uid/gid: no free id in " + range_text(config.range) + ": of " +
               std::to_string(count) + ", " + std::to_string(count - in_use_elsewhere) +
               " are held by live VMs (reservations in " + config.run_dir.string() + ") and " +
               std::to_string(in_use_elsewhere) + " are used by host processes or accounts");
}

Result<VmIds> reserve_requested_vm_ids(const VmIdsConfig& config, std::string_view vm_id,
                                       uid_t uid, gid_t gid) {
  BULWARK_TRY(validate_vm_id(vm_id));
  constexpr uint32_t kInvalid = std::numeric_limits<uint32_t>::max();
  if (uid == 0 || gid == 0) return Error("VM uid/gid: the config requests root (uid or gid 0)");
  if (uid == kInvalid || gid == kInvalid)
    return Error("VM uid/gid: the config requests the invalid id 4294967295");
  auto dir = ReservationDirectory::open_or_create(config.run_dir);
  if (!dir) return dir.error().wrap("VM uid/gid");
  VmIds ids;
  ids.uid_ = uid;
  ids.gid_ = gid;
  std::vector<uint32_t> numbers{uid};
  if (gid != uid) numbers.push_back(gid);
  for (uint32_t id : numbers) {
    const std::string name = lock_name(id);
    auto claimed = HostReservation::try_claim(*dir, name, vm_id);
    if (!claimed) return claimed.error().wrap("VM uid/gid");
    if (!claimed->has_value())
      return Error("VM uid/gid: requested id " + std::to_string(id) + " is held by " +
                   describe_holder(*dir, name));
    ids.reservations_.push_back(std::move(**claimed));
  }
  return ids;
}

}  // namespace bulwark::jailer
