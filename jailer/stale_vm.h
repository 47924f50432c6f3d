// One launcher per VM id, host-wide, and clean-up after one that died without tearing down
// (SIGKILL; a host crash is not a case: /run is a tmpfs).
//
// The VM id is a reservation like the uid/gid (a lock file <run>/vms/<id>.lock held for the
// launcher's whole life). While it runs, the launcher keeps a record of what it made
// (<run>/vms/<id>.record, launch_record.h): every jail directory is recorded before it is
// created, every cgroup leaf right after, every tenant file sVirt relabels before its label
// changes. The next launch of that id removes what the record names, and only where the record
// and the operator's settings agree on the path (the jail and cgroup names this VM id has under
// the current base dir and cgroup parent) and a jail's root is owned by the recorded uid; it
// repairs a relabelled file's label memory only when its path still leads to the recorded inode. Everything else is reported and left alone: the sweep never
// removes or signals anything no record names.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"
#include "jailer/ids/host_reservation.h"
#include "jailer/jail_spec.h"
#include "jailer/launch_record.h"

namespace bulwark::jail {

// Step vm-id. Error "VM id X is already running: held by pid N (VM X)" when a live launcher has it.
Result<jailer::HostReservation> claim_vm_id(const std::string& run_dir, const std::string& vm_id);

// Removes the uid/gid and MCS reservation files (<run>/ids, <run>/mcs) a dead launcher of
// `vm_id` left; returns their paths. Call right after claim_vm_id(), before reserving anything.
Result<std::vector<std::string>> remove_stale_reservations(const std::string& run_dir,
                                                           const std::string& vm_id);

// Where the operator's settings put VM id `vm_id`'s jails (its monitor's and every device's
// it could have) and cgroup leaves.
struct VmPlaces {
  std::vector<std::string> jail_dirs;
  std::vector<std::string> cgroup_dirs;
  // Where the host config's "net" puts its TAPs: <tap_prefix><recorded uid>n<0..7> in tap_netns.
  std::string tap_netns;
  std::string tap_prefix;
  // Where the host config's "vsock" puts this VM id's vsock directory (<vsock.dir>/<vm id>);
  // "" = no vsock on this host.
  std::string vsock_dir;
};
VmPlaces vm_places(const std::string& base_dir, const std::string& cgroup_root,
                   const std::string& cgroup_parent, const std::string& vm_id);

struct SweepReport {
  std::vector<std::string> removed;
  std::vector<std::string> left_alone;  // "<path>: <why>"
  // "<path>: ..." for each relabelled file whose label memory no longer names the dead launch.
  std::vector<std::string> labels_repaired;
};

// Step sweep: what the record of a dead launch of `vm_id` names, within `places`. The record is
// removed afterwards. Call only while holding claim_vm_id()'s reservation.
// Relabelled files (label= lines): each is reopened by its recorded path (O_PATH, the last
// component not followed) and acted on only when its dev and inode are the recorded ones; then,
// under label memory's lock, `vm_id` leaves its record and, when it was the last running user,
// the original label comes back (jailer/svirt/label_memory.h). A file that is gone or another
// file now is reported and left untouched.
// The VM's vsock directory (places.vsock_dir, the per-VM one, never the operator's) is removed
// when a dead launch's record exists and the directory is a real one owned by root with the
// recorded uid as its group (what vm_vsock.h makes); anything else there is left alone.
Result<SweepReport> sweep_recorded_leftovers(const std::string& run_dir, const std::string& vm_id,
                                             const VmPlaces& places);

// This launch's record, written as it goes and removed (in the process that made it) on
// destruction, once everything it names is gone.
class LaunchRecordFile {
 public:
  static Result<LaunchRecordFile> create(const std::string& run_dir, const std::string& vm_id,
                                         uid_t uid);
  LaunchRecordFile(LaunchRecordFile&&) noexcept = default;
  LaunchRecordFile& operator=(LaunchRecordFile&&) = delete;
  ~LaunchRecordFile();

  // Appends "jail=<path>" or "cgroup=<path>" and syncs it, so a SIGKILL right after still
  // leaves it on record.
  Status add(std::string_view kind, const std::string& path);
  // Appends "label=<dev>:<ino>:<path>" the same way (before the file is relabelled).
  Status add_label(const RecordedLabel& label);
  // The JailSpec hook (record_created) that calls add().
  JailSpec::RecordHook hook();

 private:
  LaunchRecordFile() = default;
  UniqueFd dir_fd_;
  UniqueFd fd_;
  std::string name_;
  pid_t owner_pid_ = 0;
};

}  // namespace bulwark::jail
