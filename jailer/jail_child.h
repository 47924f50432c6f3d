// The jailed child's half of the jail sequence: runs between clone() (new mount, pid, ipc, uts
// and network namespaces) and execve(). It waits for the launcher to put it in its cgroup, then
// builds its root, drops every privilege and executes the program. Any failure is written to
// `error_fd` as "jail step <name>: <what>: <strerror>" and the child exits; on success the
// close-on-exec pipe simply closes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"
#include "jailer/jail_spec.h"

namespace bulwark::jail {

// The child's clock readings (CLOCK_MONOTONIC ns, launch_phases.h), each taken as the step it
// names is done, into a page shared with the launcher (MAP_SHARED; gone from the child at execve).
enum ChildStamp : size_t {
  kStampGo,          // the launcher's go byte read (the child is in its cgroup)
  kStampLabel,       // named netns joined, hostname set, SELinux exec label written
  kStampMounts,      // mounts private, root bound, /dev nodes, inputs bound
  kStampPivotRoot,   // root remounted read-only, pivot_root, old root detached
  kStampFds,         // rlimits set, fds arranged
  kStampUid,         // capabilities, securebits, groups, gid, uid, pdeathsig, no_new_privs
  kStampSeccomp,     // the filter installed: execve is next
  kChildStampCount,
};

struct ChildChannels {
  int go_fd = -1;     // read end: one byte once the launcher has set up the cgroup
  int error_fd = -1;  // write end, close-on-exec
  int netns_fd = -1;  // /run/netns/<name> to join, or -1 (a new one was created by clone)
  // One detached mount (open_tree) per entry of spec.inputs that check_vm_access, in order,
  // made in the launcher's mount namespace by detach_tenant_inputs; empty when none.
  std::span<const int> input_trees;
  uint64_t* stamps = nullptr;  // kChildStampCount readings, or nullptr
};

// Before clone: a detached copy of each tenant input's mount, made from the fd the launcher
// opened as the VM's user. The child attaches it with move_mount. Binding /proc/self/fd/N
// instead fails on Linux 6.1 (Debian 12's kernel): after clone the fd's mount belongs to
// another mount namespace, and a bind from a foreign namespace is refused (EINVAL), while a
// detached tree may be attached anywhere.
Result<std::vector<UniqueFd>> detach_tenant_inputs(const JailSpec& spec);

[[noreturn]] void run_jailed_child(const JailSpec& spec, const ChildChannels& channels);

}  // namespace bulwark::jail
