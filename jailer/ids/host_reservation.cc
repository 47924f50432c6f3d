#include "jailer/ids/host_reservation.h"

#include <fcntl.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <system_error>

#include "bulwark/common/log.h"

namespace bulwark::jailer {
namespace {

// A claim races with a holder that unlinks its file while releasing; each lost race costs one
// retry, so a handful is plenty unless something else keeps replacing the file.
constexpr int kClaimAttempts = 16;

Status validate_file_name(std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos ||
      name.find('\0') != std::string_view::npos)
    return Error("invalid reservation file name '" + std::string(name) + "'");
  return ok_status();
}

// Reads at most one byte more than a record may hold, so oversize files are detected.
Result<std::string> read_record_text(int fd) {
  std::string text(kMaxReservationRecordBytes + 1, '\0');
  size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::pread(fd, text.data() + got, text.size() - got, static_cast<off_t>(got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno("read reservation record", errno);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  text.resize(got);
  return text;
}

Status write_record(int fd, const std::string& text) {
  if (::ftruncate(fd, 0) != 0) return Error::from_errno("truncate reservation file", errno);
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::pwrite(fd, text.data() + done, text.size() - done, static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno("write reservation file", errno);
    }
    done += static_cast<size_t>(n);
  }
  return ok_status();
}

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

}  // namespace

Result<ReservationDirectory> ReservationDirectory::open_or_create(const std::filesystem::path& path) {
  if (path.empty()) return Error("reservation directory path is empty");
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) return Error("create " + path.parent_path().string() + ": " + ec.message());
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
    return Error::from_errno("create " + path.string(), errno);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return Error::from_errno("open reservation directory " + path.string(), errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Error::from_errno("stat " + path.string(), errno);
  if (st.st_uid != ::geteuid())
    return Error("reservation directory " + path.string() + " is owned by uid " +
                 std::to_string(st.st_uid) + ", not by uid " + std::to_string(::geteuid()));
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    return Error("reservation directory " + path.string() +
                 " is writable by group or others; anyone able to write it could steal a live "
                 "VM's reservation");
  return ReservationDirectory(std::move(fd), path);
}

Result<std::optional<HostReservation>> HostReservation::try_claim(const ReservationDirectory& dir,
                                                                  std::string_view name,
                                                                  std::string_view vm_id) {
  BULWARK_TRY(validate_file_name(name));
  BULWARK_TRY(validate_vm_id(vm_id));
  const std::string file(name);
  const std::string where = dir.path().string() + "/" + file;
  for (int attempt = 0; attempt < kClaimAttempts; ++attempt) {
    UniqueFd fd(::openat(dir.fd(), file.c_str(),
                         O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600));
    if (!fd.valid()) return Error::from_errno("open " + where, errno);
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) return std::optional<HostReservation>();
      return Error::from_errno("lock " + where, errno);
    }
    struct stat locked {};
    if (::fstat(fd.get(), &locked) != 0) return Error::from_errno("stat " + where, errno);
    if (!S_ISREG(locked.st_mode)) return Error(where + " is not a regular file");
    // The previous holder unlinks its file before dropping the lock; if we locked such an
    // orphaned inode, the name now means a different file (or none): start again.
    struct stat named {};
    if (::fstatat(dir.fd(), file.c_str(), &named, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;
      return Error::from_errno("stat " + where, errno);
    }
    if (!same_file(locked, named)) continue;

    HostReservation claimed;
    if (locked.st_size > 0) {
      claimed.reclaimed_stale_ = true;
      auto text = read_record_text(fd.get());
      if (text) {
        auto record = parse_reservation_record(*text);
        if (record) claimed.stale_record_ = std::move(*record);
      }
    }
    const pid_t self = ::getpid();
    BULWARK_TRY(write_record(fd.get(), format_reservation_record({self, std::string(vm_id)})));
    claimed.dir_fd_ = UniqueFd(::fcntl(dir.fd(), F_DUPFD_CLOEXEC, 0));
    if (!claimed.dir_fd_.valid()) return Error::from_errno("duplicate directory descriptor", errno);
    claimed.lock_fd_ = std::move(fd);
    claimed.name_ = file;
    claimed.owner_pid_ = self;
    if (claimed.reclaimed_stale_) {
      const auto& old = claimed.stale_record_;
      log::warn("reclaimed stale reservation " + where + " (" +
                (old ? "was pid " + std::to_string(old->pid) + ", VM " + old->vm_id
                     : std::string("previous record unreadable")) +
                ", no live holder)");
    }
    return std::optional<HostReservation>(std::move(claimed));
  }
  return Error(where + " was replaced " + std::to_string(kClaimAttempts) +
               " times while being claimed");
}

HostReservation& HostReservation::operator=(HostReservation&& other) noexcept {
  if (this != &other) {
    release();
    dir_fd_ = std::move(other.dir_fd_);
    lock_fd_ = std::move(other.lock_fd_);
    name_ = std::move(other.name_);
    owner_pid_ = std::exchange(other.owner_pid_, 0);
    reclaimed_stale_ = other.reclaimed_stale_;
    stale_record_ = std::move(other.stale_record_);
  }
  return *this;
}

void HostReservation::release() {
  if (!lock_fd_.valid()) return;
  // Only the claiming process removes the file: a forked child that exits must not end the
  // parent's reservation (its copy of the descriptor is just closed).
  if (owner_pid_ == ::getpid()) {
    struct stat locked {};
    struct stat named {};
    // Unlink before unlocking, and only our own inode, so that no claimant can lock a file
    // that is about to vanish and believe it holds the name.
    if (::fstat(lock_fd_.get(), &locked) == 0 &&
        ::fstatat(dir_fd_.get(), name_.c_str(), &named, AT_SYMLINK_NOFOLLOW) == 0 &&
        same_file(locked, named)) {
      if (::unlinkat(dir_fd_.get(), name_.c_str(), 0) != 0)
        log::warn("release reservation " + name_ + ": unlink failed: " +
                  std::error_code(errno, std::generic_category()).message());
    }
  }
  lock_fd_.reset();
  dir_fd_.reset();
}

std::string describe_holder(const ReservationDirectory& dir, std::string_view name) {
  if (!validate_file_name(name)) return "an invalid name";
  const std::string file(name);
  UniqueFd fd(::openat(dir.fd(), file.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) return "a live process (record unreadable)";
  auto text = read_record_text(fd.get());
  if (!text) return "a live process (record unreadable)";
  auto record = parse_reservation_record(*text);
  if (!record) return "a live process (" + record.error().message() + ")";
  return "pid " + std::to_string(record->pid) + " (VM " + record->vm_id + ")";
}

Result<std::vector<std::string>> remove_stale_reservations_of(const ReservationDirectory& dir,
                                                              std::string_view vm_id) {
  // A directory stream of our own: fdopendir takes over the descriptor it is given.
  UniqueFd listing_fd(::openat(dir.fd(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!listing_fd.valid()) return Error::from_errno("open " + dir.path().string(), errno);
  struct CloseDir {
    void operator()(DIR* d) const { ::closedir(d); }
  };
  std::unique_ptr<DIR, CloseDir> listing(::fdopendir(listing_fd.get()));
  if (!listing) return Error::from_errno("list " + dir.path().string(), errno);
  listing_fd.release();
  std::vector<std::string> names;
  for (const dirent* entry; (entry = ::readdir(listing.get())) != nullptr;) {
    const std::string name = entry->d_name;
    if (!validate_file_name(name)) continue;
    UniqueFd fd(::openat(dir.fd(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd.valid()) continue;
    auto text = read_record_text(fd.get());
    if (!text) continue;
    auto record = parse_reservation_record(*text);
    if (!record || record->vm_id != vm_id) continue;
    names.push_back(name);
  }
  std::vector<std::string> removed;
  for (const std::string& name : names) {
    // Claiming succeeds only for a file nobody holds; releasing the claim unlinks it.
    auto claimed = HostReservation::try_claim(dir, name, vm_id);
    if (!claimed.ok()) return claimed.error();
    if (!claimed->has_value() || !(*claimed)->reclaimed_stale()) continue;
    (*claimed)->release();
    removed.push_back(name);
  }
  return removed;
}

}  // namespace bulwark::jailer
