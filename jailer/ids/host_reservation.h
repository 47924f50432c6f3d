// Host-wide reservations of a named resource (a uid, an MCS category pair) through one lock file
// per resource in a root-owned run directory. A reservation is live exactly while some open file
// description holds flock(LOCK_EX) on the file, so a launcher that dies releases it without
// cleanup; a file nobody holds is stale and the next claimant takes it over.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"
#include "jailer/ids/reservation_record.h"

namespace bulwark::jailer {

// An opened run directory. Lock files are opened relative to it, so a directory swapped or
// symlinked after opening cannot redirect them.
class ReservationDirectory {
 public:
  // Creates missing directories (the last one 0700) and refuses a directory that is not owned
  // by the effective uid or is writable by group or others: anyone who can write it could
  // delete a live reservation's file and so obtain a live VM's ids.
  static Result<ReservationDirectory> open_or_create(const std::filesystem::path& path);

  int fd() const { return fd_.get(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  ReservationDirectory(UniqueFd fd, std::filesystem::path path)
      : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::filesystem::path path_;
};

// One claimed lock file. Destruction (or release()) in the process that claimed it unlinks the
// file and drops the lock; a forked child that inherited the object leaves it alone.
class HostReservation {
 public:
  // nullopt when another live process holds the file. `name` is a plain file name.
  static Result<std::optional<HostReservation>> try_claim(const ReservationDirectory& dir,
                                                          std::string_view name,
                                                          std::string_view vm_id);

  HostReservation(HostReservation&&) noexcept = default;
  HostReservation& operator=(HostReservation&& other) noexcept;
  HostReservation(const HostReservation&) = delete;
  HostReservation& operator=(const HostReservation&) = delete;
  ~HostReservation() { release(); }

  const std::string& name() const { return name_; }
  // True when the file existed with no holder (a dead launcher's) and was taken over.
  bool reclaimed_stale() const { return reclaimed_stale_; }
  // What that stale file said, when it was readable.
  const std::optional<ReservationRecord>& stale_record() const { return stale_record_; }
  // The locked file, e.g. for a caller that hands it to a longer-lived process (the lock is
  // shared by every descriptor of this open file description).
  int fd() const { return lock_fd_.get(); }

  void release();

 private:
  HostReservation() = default;
  UniqueFd dir_fd_;
  UniqueFd lock_fd_;
  std::string name_;
  pid_t owner_pid_ = 0;
  bool reclaimed_stale_ = false;
  std::optional<ReservationRecord> stale_record_;
};

// Describes who holds `name` for an error message: "pid 123 (VM web-1)", or a note that the
// record is missing or malformed (a holder writes it just after locking).
std::string describe_holder(const ReservationDirectory& dir, std::string_view name);

// Removes the lock files in `dir` that no live process holds and whose record names `vm_id`: what
// a launcher of that VM left when it was killed. Returns their names. Files held by a live
// process (including the caller's own reservations) are left alone.
Result<std::vector<std::string>> remove_stale_reservations_of(const ReservationDirectory& dir,
                                                              std::string_view vm_id);

}  // namespace bulwark::jailer
