// Label memory like libvirt's (policy/selinux/LABELS.md): every file the launcher relabels that
// it did not create keeps its original context and its users in one record on the file itself
// (trusted.bulwark.label, label_record.h), read and changed only under the host-wide lock
// <run_dir>/labels.lock, and only through an open fd (fgetxattr/fsetxattr), never by path.
//
// - A file whose record names another running VM is refused, naming that VM, unless every user
//   and the new one are read-only and shared (the operator's shared_image_dirs, kernels,
//   initrds); its label is then left exactly as it is.
// - A user whose launcher is no longer running (its VM id lock <run_dir>/vms/<id>.lock is not
//   held) is a dead launcher's leftover: it is dropped from the record whenever the record is
//   next changed, and counts for nothing.
// - The last user's end puts the original context back, by fd, and removes the record.
// - Before a file is relabelled, the caller's hook records it (the launch record, stale_vm.h),
//   so the sweep after a killed launcher can find it again (release_label_user).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"
#include "jailer/svirt/file_labels.h"
#include "jailer/svirt/label_record.h"

namespace bulwark::jailer {

// Whether the launcher of a VM id is running. The system one is vm_launcher_running().
using VmRunningCheck = std::function<bool(std::string_view vm_id)>;

// True while some process holds the flock of <run_dir>/vms/<vm_id>.lock (claim_vm_id, stale_vm.h).
// The probe takes a shared flock for an instant when nobody holds it; a launcher claiming that id
// in that instant is told it runs already, and retries.
bool vm_launcher_running(const std::filesystem::path& run_dir, std::string_view vm_id);

// The path the open file was reached by (/proc/self/fd), "" when unknown or when the file has no
// name any more (unlinked).
std::string resolved_fd_path(int fd);

// True when `resolved` (a resolved absolute path) lies below one of `dirs` (absolute; each taken
// as written and as it resolves now).
bool path_is_below_any(const std::string& resolved, const std::vector<std::string>& dirs);

// The host-wide lock every record change is made under.
class LabelsLock {
 public:
  // Creates <run_dir> when missing (root-only, as every reservation directory) and waits for
  // flock(LOCK_EX) on <run_dir>/labels.lock.
  static Result<LabelsLock> take(const std::filesystem::path& run_dir);

 private:
  explicit LabelsLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;  // closing it drops the lock
};

// What a launch record names for each relabelled file.
struct LabelledFile {
  uint64_t dev = 0;
  uint64_t ino = 0;
  std::string path;  // resolved when it was labelled
};

enum class LabelRelease {
  kNotAUser,  // no record, or the record does not name the VM: nothing changed
  kDropped,   // the VM left the record; others still use the file
  kRestored,  // it was the last user: original context back, record removed
};

// Under the lock: removes `vm_id` from the record of the file open as `fd` and, when no running
// user is left, restores the original context (or removes security.selinux when there was none)
// and then the record. `name` is for messages. A record Bulwark did not write is left alone
// (error).
Result<LabelRelease> release_label_user(const std::filesystem::path& run_dir, int fd,
                                        std::string_view vm_id, const std::string& name,
                                        FdXattrs& selinux = system_fd_xattrs(),
                                        const VmRunningCheck& running = {});

// The running users of the file open as `fd` other than `except_vm_id`, as
// "VM \"vm-a\" (read-write)": who to name when a file is refused. Empty without a valid record.
std::vector<std::string> label_record_holders(int fd, std::string_view except_vm_id,
                                              const std::filesystem::path& run_dir,
                                              const VmRunningCheck& running = {});

// One VM's side of label memory: what it relabelled, released at its end.
class LabelMemory {
 public:
  // Called with each file before its record and label change; an error stops the relabel.
  using RecordHook = std::function<Status(const LabelledFile&)>;

  // `running` defaults to vm_launcher_running(run_dir, ...).
  LabelMemory(std::filesystem::path run_dir, std::string vm_id,
              FdXattrs& selinux = system_fd_xattrs(), VmRunningCheck running = {});
  LabelMemory(LabelMemory&&) noexcept = default;
  LabelMemory& operator=(LabelMemory&&) = delete;
  LabelMemory(const LabelMemory&) = delete;
  LabelMemory& operator=(const LabelMemory&) = delete;
  // release_all(), logging a failure.
  ~LabelMemory();

  void set_record_hook(RecordHook hook) { record_hook_ = std::move(hook); }

  // Makes this VM a user of the file open as `fd` with `access`, and gives it `context`: refused,
  // naming the other VM, when another running VM uses it and not every one (this one too) is
  // kReadOnlyShared, or shares it under another label. A record that does not parse is refused
  // and left as it is. kFilesystemRefused: the filesystem keeps no xattrs; nothing changed.
  // `name` is for messages. The same file again for this VM is a no-op when context and access
  // agree, an error otherwise. A dup of fd is kept until release.
  Result<LabelOutcome> acquire(int fd, const std::string& name, const std::string& context,
                               LabelAccess access);

  // release_label_user for every file, in reverse order, on the fds kept; keeps going past
  // failures and returns the first.
  Status release_all();

  size_t file_count() const { return files_.size(); }

 private:
  struct Held {
    UniqueFd fd;
    dev_t dev = 0;
    ino_t ino = 0;
    std::string name;
    std::string context;
    LabelAccess access = LabelAccess::kReadWrite;
  };
  std::filesystem::path run_dir_;
  std::string vm_id_;
  FdXattrs* selinux_;
  VmRunningCheck running_;
  RecordHook record_hook_;
  std::vector<Held> files_;
};

}  // namespace bulwark::jailer
