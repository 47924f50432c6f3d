// Disk image locks that QEMU understands: an open-file-description (OFD) lock on every image a
// VM uses, on the bytes QEMU's own image locking uses (QEMU block/file-posix.c), so qemu-img and
// QEMU refuse a running VM's image and Bulwark refuses one that QEMU (or another VM) holds.
//
// QEMU's protocol, as Bulwark follows it: each block permission i (0 consistent read, 1 write,
// 2 write-unchanged, 3 resize) has two bytes. A user read-locks (F_RDLCK) byte 100 + i for each
// permission it holds and byte 200 + i for each permission it does not let others have; then it
// tests (F_OFD_GETLK with F_WRLCK) byte 200 + i for each permission it wants (someone else
// refuses to share it) and byte 100 + i for each permission it refuses to share (someone else
// holds it). Locking before testing means two users racing both see each other. All locks are
// shared byte locks; exclusivity comes from the tests:
//   read-write (exclusive): holds read, write, write-unchanged; shares read, write-unchanged.
//   read-only (shared):     holds read; shares read, write-unchanged (no writer, no resize).
// So two read-only users coexist, and a writer excludes every other user of the image.
//
// An OFD lock cannot say who holds it, so a refusal names the holders from one record, never
// two: while sVirt labels the VM's files, that is the file's label memory
// (trusted.bulwark.label, jailer/svirt/label_memory.h), which lists every running VM using it
// with its access, and no holder record is written here (records_dir empty, `holders` given).
// Under selinux: off there is no label memory, and the holder writes its own record,
// <records_dir>/<dev>-<ino>/<vm-id> (contents "read-write" or "read-only"), removed at release.
// Records are read as untrusted (names are validated VM ids, contents one of the two words), and
// records a successful lock proves stale (a killed launcher's) are removed.
//
// The lock belongs to the open file description: every dup of the image fd (the one passed to
// the device process included) holds it, and it ends when the last of them closes, so it outlives
// a crashed launcher for as long as the device process runs. Live migration (issue 12) hands the
// lock over without a gap: on one host the source passes its image fd to the destination
// (SCM_RIGHTS: the same description, hence the same lock) and the destination calls acquire()
// on it before the source releases (a description never conflicts with itself, so that succeeds
// and only the record changes hands); across hosts on shared storage the source gives up the
// write bytes (101, 201) only at switch-over and the destination locks after that.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"

namespace bulwark::jail {

enum class ImageLockMode { kReadOnly, kReadWrite };

// The first conflict found on `fd` for `mode` (another open file description's lock), as QEMU
// names permissions: "" when there is none. Exposed for tests.
Result<std::string> image_lock_conflict(int fd, ImageLockMode mode);

class ImageLock {
 public:
  // Who else holds the image open as the fd, as "VM \"id\" (read-write)" (label memory's view).
  using HolderNames = std::function<std::vector<std::string>(int fd)>;

  // Locks the image open as `image_fd` (a dup is kept) for `vm_id` and writes its record under
  // `records_dir` (none when empty). `name` (the path as the tenant gave it, quoted by the
  // caller) is for messages. A conflict is refused naming the image and its holders: those the
  // records under `records_dir` list, or when it is empty those `holders` names.
  static Result<ImageLock> acquire(int image_fd, const std::string& name, ImageLockMode mode,
                                   const std::string& vm_id, const std::string& records_dir,
                                   const HolderNames& holders = {});

  ImageLock(ImageLock&& other) noexcept
      : fd_(std::move(other.fd_)), record_path_(std::exchange(other.record_path_, {})) {}
  ImageLock& operator=(ImageLock&& other) noexcept;
  ImageLock(const ImageLock&) = delete;
  ImageLock& operator=(const ImageLock&) = delete;
  // Releases: removes the record and closes the kept dup. The lock bytes are not unlocked
  // explicitly: they go with the last fd of the description (the device process's may outlive
  // this for a moment; its lock must too).
  ~ImageLock() { release(); }
  void release();

 private:
  ImageLock() = default;
  UniqueFd fd_;
  std::string record_path_;
};

// The VMs the records under `records_dir` name for the image (dev, ino), other than
// `except_vm_id`, as "VM \"id\" (read-write)". Untrusted names and contents are skipped.
std::vector<std::string> image_holders(const std::string& records_dir, dev_t dev, ino_t ino,
                                       const std::string& except_vm_id);

}  // namespace bulwark::jail
