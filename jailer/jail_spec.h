// JailSpec: everything needed to start one process (the monitor today, device processes later)
// inside its own jail. Built by the launcher from a LaunchConfig plus what the operator and the
// id/label allocators decide; run_jailed() (jail.h) turns it into a running process.
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/common/result.h"
#include "jailer/svirt/jail_labels.h"

namespace bulwark::jail {

// A host file or directory made visible inside the jail, read-only (bind mount + read-only
// remount). `jail_path` is absolute as seen inside the jail. A tenant's file (`check_vm_access`)
// is bound from `fd`, which the launcher opened as the VM's user (open_as_vm_user,
// jailer/vm_user_files.h) before run_jailed: the jail binds what was opened and checked, never
// the path again, so a tenant cannot name a host file its VM user could not read anyway, nor
// swap the path afterwards. Such an input without an fd is refused (step bind-inputs).
struct ReadOnlyInput {
  std::string host_path;
  std::string jail_path;
  bool check_vm_access = true;
  bool allow_exec = false;  // mounted noexec unless it holds code the process runs
  int fd = -1;              // the launcher's fd of a tenant input; it stays open until exec
};

// An operator's directory the process may write (swtpm's state, jailer/tpm_spec.h): bound
// read-write at `jail_path`, nosuid, nodev, noexec. `host_path` is opened O_NOFOLLOW as a
// directory; it lives in the process's mount namespace only, so teardown never reaches into it.
struct WritableDir {
  std::string host_path;
  std::string jail_path;
};

// A symlink created in the jail root (e.g. /lib64 -> usr/lib64 for the dynamic loader).
struct JailSymlink {
  std::string jail_path;
  std::string target;
};

// A device node created on the jail's private /dev (a tmpfs), with the host node's type and
// number, owned by the VM's uid/gid with `mode`.
struct DeviceNode {
  std::string host_path;  // e.g. /dev/kvm
  std::string jail_path;  // e.g. /dev/kvm
  mode_t mode = 0600;
};

// A file the launcher writes into the jail root before the process starts (e.g. vm.json),
// owned by root, group the VM's gid, mode 0640: readable by the VM, never writable.
struct GeneratedFile {
  std::string jail_path;
  std::string contents;
};

struct CgroupLimits {
  uint64_t memory_bytes = 0;      // 0 = no limit
  uint64_t pids_max = 0;          // 0 = no limit
  uint64_t cpu_quota_us = 0;      // 0 = no quota
  uint64_t cpu_period_us = 100000;
  std::string cpuset;             // "" = inherit the parent's CPUs
};

struct Rlimits {
  uint64_t nofile = 1024;
  uint64_t fsize = 0;             // the monitor writes no files
  uint64_t nproc = 64;            // per uid: the VM uid is this VM's alone
  uint64_t core = 0;
  uint64_t memlock = 0;
};

// An fd the launcher holds that the process gets at `target` (0, 1, 2 for the console...).
// Every other fd is closed at exec.
struct PassedFd {
  int source = -1;
  int target = -1;
};

struct JailSpec {
  // Called with ("jail", <base>/<id>) before the jail directory is created and ("cgroup", leaf)
  // after each cgroup leaf is, so a launch record names them (stale_vm.h). An error stops the
  // launch before the thing is made.
  using RecordHook = std::function<Status(std::string_view kind, const std::string& path)>;

  std::string vm_id;                 // validated by validate_vm_id()
  std::string exec_host_path;        // the executable, bound read-only into the jail
  std::string exec_jail_path;        // its path inside the jail, e.g. /bulwark-monitor
  std::vector<std::string> argv;     // argv[0] included; paths as seen inside the jail
  std::vector<ReadOnlyInput> inputs;
  std::vector<WritableDir> writable_dirs;
  std::vector<JailSymlink> symlinks;
  std::vector<DeviceNode> devices;
  std::vector<GeneratedFile> files;

  // Who the process runs as: from the config today, from the id allocator later.
  uid_t uid = 0;
  gid_t gid = 0;
  // SELinux exec context (from the label allocator); applied only when SELinux is enabled.
  std::optional<std::string> selinux_exec_context;
  // The label of everything steps jail-dir and jail-files create (<base>/<id>, its root, every
  // directory, mount point, symlink and generated file in it; not <base>), given at creation
  // (VmSvirt::jail_create_label(), jailer/svirt/jail_labels.h). Empty context: none.
  jailer::JailCreateLabel create_label;

  std::string base_dir = "/srv/bulwark";  // the jail root is <base_dir>/<vm_id>/root
  std::string cgroup_root = "/sys/fs/cgroup";
  std::string cgroup_parent = "bulwark";  // the process's cgroup is <parent>/<vm_id>
  CgroupLimits limits;
  Rlimits rlimits;

  std::string netns;  // "" = a new, empty network namespace; else join /run/netns/<netns>
  std::vector<PassedFd> fds;
  // For processes that do not filter themselves: installed last before exec (the program must
  // allow execve). The monitor installs its own per-thread policies, so it gets none.
  std::vector<sock_filter> seccomp_program;
  RecordHook record_created;
};

}  // namespace bulwark::jail
