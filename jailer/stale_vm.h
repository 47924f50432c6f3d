// One launcher per VM id, host-wide, and clean-up after one that died without tearing down
// (SIGKILL, a host crash before /run was cleared is not a case: /run is a tmpfs).
//
// The VM id is a reservation like the uid/gid (a lock file <run>/vms/<id>.lock held for the
// launcher's whole life). Holding it proves no live launcher uses the id, so a jail directory or
// cgroup that still exists under the id is a dead launcher's leftover and is removed before the
// new jail is built.
#pragma once

#include <string>
#include <vector>

#include "bulwark/common/result.h"
#include "jailer/ids/host_reservation.h"
#include "jailer/jail_spec.h"

namespace bulwark::jail {

// Step vm-id. Error "VM id X is already running: held by pid N (VM X)" when a live launcher has it.
Result<jailer::HostReservation> claim_vm_id(const std::string& run_dir, const std::string& vm_id);

// Removes the uid/gid and MCS reservation files (<run>/ids, <run>/mcs) a dead launcher of
// `vm_id` left; returns their paths. Call right after claim_vm_id(), before reserving anything.
Result<std::vector<std::string>> remove_stale_reservations(const std::string& run_dir,
                                                           const std::string& vm_id);

// Removes <base>/<id> and the cgroup leaves of `spec`'s VM id; returns what was removed (empty
// when nothing was left). Call only while holding claim_vm_id()'s reservation.
Result<std::vector<std::string>> sweep_leftovers(const JailSpec& spec);

}  // namespace bulwark::jail
