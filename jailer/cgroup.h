// The VM's cgroup: <root>/<parent>/<id> on cgroup v2 (when <root> is a cgroup2 mount with
// controllers), else <root>/<controller>/<parent>/<id> under each v1 controller it uses. It holds
// the limits and is removed when the jail is torn down.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "bulwark/common/result.h"
#include "jailer/jail_spec.h"

namespace bulwark::jail {

class VmCgroup {
 public:
  // Creates the leaf (refused if it already exists: another VM with this id) and the parents
  // it needs, then writes the limits. On failure nothing it created is left.
  static Result<VmCgroup> create(const std::string& root, const std::string& parent,
                                 const std::string& id, const CgroupLimits& limits);

  VmCgroup(VmCgroup&& other) noexcept;
  VmCgroup& operator=(VmCgroup&&) = delete;
  VmCgroup(const VmCgroup&) = delete;
  VmCgroup& operator=(const VmCgroup&) = delete;
  ~VmCgroup();  // remove()

  bool is_v2() const { return v2_; }
  // Leaf directories, one per controller on v1.
  const std::vector<std::string>& dirs() const { return dirs_; }
  Status add_process(pid_t pid);
  // Removes the leaf directories (retrying briefly while the kernel lets go of exited tasks).
  // Parents are shared between VMs and stay. Idempotent.
  Status remove();

 private:
  VmCgroup(bool v2, std::vector<std::string> dirs) : v2_(v2), dirs_(std::move(dirs)) {}
  bool v2_ = false;
  std::vector<std::string> dirs_;
};

// The leaves a VM id's cgroup can have: <root>/<parent>/<id> (v2) and
// <root>/<controller>/<parent>/<id> under each v1 controller the jail uses.
std::vector<std::string> cgroup_leaf_candidates(const std::string& root, const std::string& parent,
                                               const std::string& id);

// Removes one cgroup leaf that a launcher which died without tearing down left behind, first
// killing any process still in it. False when it is not a cgroup (nothing done). The caller must
// know the leaf is Bulwark's (stale_vm.h: named by that launch's record) and hold the VM id.
Result<bool> remove_leftover_cgroup_leaf(const std::string& leaf);

// Writes `text` to an existing file (cgroup control files, /proc attributes).
Status write_existing_file(const std::string& path, const std::string& text);

}  // namespace bulwark::jail
