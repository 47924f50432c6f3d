// Tenant-named files (kernel, initrd, disk images): opened by a short-lived helper process that
// has fully become the VM's user, so a tenant can hand its VM (or get relabelled, or get locked)
// only a file that VM user could open on its own.
//
// The helper is forked from the (single-threaded) launcher and, before it looks at the path:
// drops every capability from the bounding and ambient sets, setgroups(0, NULL) (root's
// supplementary groups, e.g. group 0 under sudo, must not count), setresgid/setresuid to the
// VM's ids, clears the inheritable set, checks that no capability is left and turns dumpable off
// (no process of the VM's uid may ptrace it). It then resolves the path with openat2(2) and
// RESOLVE_NO_MAGICLINKS (/proc/<pid>/root, /proc/self/cwd, /proc/self/fd/N are refused, also
// behind a symlink), first as O_PATH to check the file's type without opening a FIFO or a device
// for I/O, then for real (O_NONBLOCK, O_NOCTTY, never O_CREAT), and hands the fd back over a
// socketpair (SCM_RIGHTS). The launcher reaps it with a bounded wait and checks the fd again
// itself: a regular file (or a block device where the operator allows them), not on /proc, /sys
// or another kernel pseudo-filesystem, the access mode asked for.
//
// Errors start with the path as given, quoted (config::quoted_text), and never carry file bytes.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"

namespace bulwark::jail {

enum class VmFileAccess { kReadOnly, kReadWrite };

struct VmUserFile {
  UniqueFd fd;         // O_CLOEXEC, blocking (O_NONBLOCK cleared once the type is known)
  std::string path;    // as the tenant named it (for messages and records; never relabelled by)
  uint64_t size = 0;   // bytes (st_size, or the block device's size)
  dev_t dev = 0;       // the opened inode, for lock records and identity checks
  ino_t ino = 0;
  bool block_device = false;
};

struct VmUserFileOptions {
  VmFileAccess access = VmFileAccess::kReadOnly;
  // Operator's setting (JailSettings::allow_device_files): a block device may be a disk.
  // Character devices, FIFOs, sockets and directories are always refused.
  bool allow_block_device = false;
  // The helper is killed and the open refused after this long (a hung FUSE or NFS server).
  std::chrono::milliseconds timeout{5000};
};

// Opens `path` as uid/gid as described above.
Result<VmUserFile> open_as_vm_user(const std::string& path, uid_t uid, gid_t gid,
                                   const VmUserFileOptions& options = {});

// True for a path whose lexically normal form is /proc or /sys or lies below them (refused by
// name before any helper runs; the helper's fstatfs check catches other mounts of them).
bool names_proc_or_sys(const std::string& path);

}  // namespace bulwark::jail
