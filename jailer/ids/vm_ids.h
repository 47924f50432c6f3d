// Per-VM uid/gid: every VM runs under its own unprivileged uid and gid, reserved host-wide so
// that no two live VMs (whichever launcher started them) ever share one.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string_view>
#include <vector>

#include "bulwark/common/result.h"
#include "jailer/ids/host_reservation.h"

namespace bulwark::jailer {

struct VmIdRange {
  uint32_t first = 200000;
  uint32_t last = 265535;  // inclusive
};

struct VmIdsConfig {
  std::filesystem::path run_dir = "/run/bulwark/ids";
  VmIdRange range;
};

// Refuses an empty range, one containing 0 (root) or the invalid id 4294967295.
Status validate_vm_id_range(const VmIdRange& range);

// A reserved uid/gid pair; the reservation lasts as long as this object (in the process that
// made it). Lock files are <run_dir>/<number>.lock; uid and gid draw from one pool of numbers,
// so a VM's gid is never another live VM's uid either.
class VmIds {
 public:
  uid_t uid() const { return uid_; }
  gid_t gid() const { return gid_; }
  // Whether taking these ids reclaimed a stale reservation of a dead launcher.
  bool reclaimed_stale() const;
  const std::vector<HostReservation>& reservations() const { return reservations_; }

 private:
  friend Result<VmIds> allocate_vm_ids(const VmIdsConfig&, std::string_view);
  friend Result<VmIds> reserve_requested_vm_ids(const VmIdsConfig&, std::string_view, uid_t, gid_t);
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  std::vector<HostReservation> reservations_;
};

// The lowest free number in the range, as uid == gid. Error when every id is held by a live VM.
Result<VmIds> allocate_vm_ids(const VmIdsConfig& config, std::string_view vm_id);

// Ids the VM's config asks for explicitly (they need not lie in the range). Error if either is
// 0 or held by another live VM.
Result<VmIds> reserve_requested_vm_ids(const VmIdsConfig& config, std::string_view vm_id,
                                       uid_t uid, gid_t gid);

}  // namespace bulwark::jailer
