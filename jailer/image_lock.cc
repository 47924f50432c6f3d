#include "jailer/image_lock.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <filesystem>

#include "jailer/vm_id.h"

namespace bulwark::jail {

namespace {

// QEMU block/file-posix.c: RAW_LOCK_PERM_BASE, RAW_LOCK_SHARED_BASE; one byte per permission.
constexpr off_t kPermBase = 100;
constexpr off_t kSharedBase = 200;
// QEMU's BLK_PERM_* bits, in order, with the names its messages use.
constexpr int kPermCount = 4;
constexpr const char* kPermNames[kPermCount] = {"consistent read", "write", "write unchanged",
                                                "resize"};
constexpr unsigned kRead = 1u << 0, kWrite = 1u << 1, kWriteUnchanged = 1u << 2;
constexpr unsigned kAllPerms = (1u << kPermCount) - 1;

struct Perms {
  unsigned held;
  unsigned shared;
};

Perms perms_for(ImageLockMode mode) {
  if (mode == ImageLockMode::kReadWrite) return {kRead | kWrite | kWriteUnchanged, kRead | kWriteUnchanged};
  return {kRead, kRead | kWriteUnchanged};
}

const char* mode_word(ImageLockMode mode) {
  return mode == ImageLockMode::kReadWrite ? "read-write" : "read-only";
}

int lock_byte(int fd, off_t offset, short type) {
  struct flock lock{};
  lock.l_type = type;
  lock.l_whence = SEEK_SET;
  lock.l_start = offset;
  lock.l_len = 1;
  return ::fcntl(fd, F_OFD_SETLK, &lock) == 0 ? 0 : errno;
}

// 1: another description's lock conflicts with a write lock on the byte; 0: none; -errno.
int byte_taken(int fd, off_t offset) {
  struct flock lock{};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  lock.l_start = offset;
  lock.l_len = 1;
  if (::fcntl(fd, F_OFD_GETLK, &lock) != 0) return -errno;
  return lock.l_type == F_UNLCK ? 0 : 1;
}

std::string record_dir(const std::string& records_dir, dev_t dev, ino_t ino) {
  return records_dir + "/" + std::to_string(static_cast<uint64_t>(dev)) + "-" +
         std::to_string(static_cast<uint64_t>(ino));
}

// The record's contents, when they are one of the two words a holder writes.
std::string read_record(int dir_fd, const char* name) {
  UniqueFd fd(::openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (!fd.valid()) return "";
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return "";
  char buf[16];
  const ssize_t n = ::read(fd.get(), buf, sizeof buf);
  if (n <= 0) return "";
  const std::string text(buf, static_cast<size_t>(n));
  if (text == "read-write\n" || text == "read-only\n") return text.substr(0, text.size() - 1);
  return "";
}

Status make_private_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return Error::from_errno("create " + path, errno);
  }
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Error(path + ": not a directory");
  }
  return ok_status();
}

}  // namespace

Result<std::string> image_lock_conflict(int fd, ImageLockMode mode) {
  const Perms perms = perms_for(mode);
  for (int i = 0; i < kPermCount; ++i) {
    if (!(perms.held & (1u << i))) continue;
    const int taken = byte_taken(fd, kSharedBase + i);
    if (taken < 0) return Error::from_errno("test lock byte " + std::to_string(kSharedBase + i), -taken);
    if (taken) return std::string("another user does not share \"") + kPermNames[i] + "\"";
  }
  const unsigned unshared = kAllPerms & ~perms.shared;
  for (int i = 0; i < kPermCount; ++i) {
    if (!(unshared & (1u << i))) continue;
    const int taken = byte_taken(fd, kPermBase + i);
    if (taken < 0) return Error::from_errno("test lock byte " + std::to_string(kPermBase + i), -taken);
    if (taken) return std::string("another user holds \"") + kPermNames[i] + "\"";
  }
  return std::string();
}

std::vector<std::string> image_holders(const std::string& records_dir, dev_t dev, ino_t ino,
                                       const std::string& except_vm_id) {
  std::vector<std::string> holders;
  if (records_dir.empty()) return holders;
  const std::string dir_path = record_dir(records_dir, dev, ino);
  DIR* dir = ::opendir(dir_path.c_str());
  if (dir == nullptr) return holders;
  const int dir_fd = ::dirfd(dir);
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name == except_vm_id || !validate_vm_id(name).ok()) continue;
    const std::string mode = read_record(dir_fd, entry->d_name);
    if (mode.empty()) continue;
    holders.push_back("VM \"" + name + "\" (" + mode + ")");
    if (holders.size() >= 8) break;  // enough to act on; a flood of records names no more
  }
  ::closedir(dir);
  return holders;
}

Result<ImageLock> ImageLock::acquire(int image_fd, const std::string& name, ImageLockMode mode,
                                     const std::string& vm_id, const std::string& records_dir,
                                     const HolderNames& holder_names) {
  if (Status s = validate_vm_id(vm_id); !s.ok()) return s.error().wrap("image lock: VM id");
  ImageLock lock;
  lock.fd_.reset(::fcntl(image_fd, F_DUPFD_CLOEXEC, 0));
  if (!lock.fd_.valid()) return Error::from_errno(name + ": dup for the image lock", errno);
  struct stat st{};
  if (::fstat(image_fd, &st) != 0) return Error::from_errno(name + ": fstat", errno);

  // Lock first, then test, as QEMU does: of two users racing, each sees the other.
  const Perms perms = perms_for(mode);
  const unsigned unshared = kAllPerms & ~perms.shared;
  for (int i = 0; i < kPermCount; ++i) {
    if (perms.held & (1u << i)) {
      if (int err = lock_byte(image_fd, kPermBase + i, F_RDLCK); err != 0) {
        return Error::from_errno(name + ": lock byte " + std::to_string(kPermBase + i), err);
      }
    }
    if (unshared & (1u << i)) {
      if (int err = lock_byte(image_fd, kSharedBase + i, F_RDLCK); err != 0) {
        // EAGAIN: another user holds a write lock on it (not QEMU's protocol, but taken).
        if (err == EAGAIN || err == EACCES) {
          return Error(name + ": refused: the image is locked by another program");
        }
        return Error::from_errno(name + ": lock byte " + std::to_string(kSharedBase + i), err);
      }
    }
  }
  auto conflict = image_lock_conflict(image_fd, mode);
  if (!conflict.ok()) return conflict.error().wrap(name);
  if (!conflict->empty()) {
    // Our bytes go with the description: the caller closes every fd of it on this error (the
    // device process has not started), so nothing is left locked.
    for (int i = 0; i < kPermCount; ++i) {
      (void)lock_byte(image_fd, kPermBase + i, F_UNLCK);
      (void)lock_byte(image_fd, kSharedBase + i, F_UNLCK);
    }
    const auto holders = !records_dir.empty() || !holder_names
                             ? image_holders(records_dir, st.st_dev, st.st_ino, vm_id)
                             : holder_names(image_fd);
    std::string who = "by a program that keeps no Bulwark record (QEMU, qemu-img, ...?)";
    if (!holders.empty()) {
      who = "by ";
      for (size_t i = 0; i < holders.size(); ++i) who += (i ? ", " : "") + holders[i];
    }
    return Error(name + ": refused: the image is in use " + who + "; it cannot be attached " +
                 mode_word(mode) + " (" + *conflict + ")");
  }

  if (records_dir.empty()) return lock;
  // The record: who holds it, for the next launcher's refusal. Records of other VMs are stale
  // now (their locks would have conflicted with this one unless both are read-only).
  BULWARK_TRY(make_private_dir(records_dir));
  const std::string dir = record_dir(records_dir, st.st_dev, st.st_ino);
  BULWARK_TRY(make_private_dir(dir));
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string other = entry.path().filename().string();
    if (other == vm_id) continue;
    UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    const bool stale = mode == ImageLockMode::kReadWrite ||
                       (dir_fd.valid() && read_record(dir_fd.get(), other.c_str()) == "read-write");
    if (stale) std::filesystem::remove(entry.path(), ec);
  }
  lock.record_path_ = dir + "/" + vm_id;
  UniqueFd record(::open(lock.record_path_.c_str(),
                         O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!record.valid()) {
    const int err = errno;
    lock.record_path_.clear();
    return Error::from_errno("write the image lock record in " + dir, err);
  }
  const std::string text = std::string(mode_word(mode)) + "\n";
  if (::write(record.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    return Error::from_errno("write the image lock record " + lock.record_path_, errno);
  }
  return lock;
}

ImageLock& ImageLock::operator=(ImageLock&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = std::move(other.fd_);
    record_path_ = std::move(other.record_path_);
    other.record_path_.clear();
  }
  return *this;
}

void ImageLock::release() {
  if (!record_path_.empty()) {
    ::unlink(record_path_.c_str());
    // The image's directory goes with its last record (ENOTEMPTY while others hold it).
    ::rmdir(std::filesystem::path(record_path_).parent_path().c_str());
    record_path_.clear();
  }
  fd_.reset();
}

}  // namespace bulwark::jail
