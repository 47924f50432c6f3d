#include "jailer/svirt/label_memory.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>

#include "bulwark/common/log.h"
#include "jailer/ids/host_reservation.h"

namespace bulwark::jailer {

namespace {

bool filesystem_refuses(int err) { return err == EOPNOTSUPP || err == ENOTSUP; }

// The raw record on the file: nullopt when it has none; the errno otherwise.
int read_record_xattr(int fd, std::optional<std::string>& out) {
  std::string value(kMaxLabelRecordBytes + 1, '\0');
  const ssize_t got = ::fgetxattr(fd, kLabelRecordXattr, value.data(), value.size());
  if (got < 0) {
    if (errno == ENODATA) {
      out.reset();
      return 0;
    }
    // ERANGE: larger than any record Bulwark writes; parsed (and refused) as too large.
    if (errno == ERANGE) {
      out = std::string(kMaxLabelRecordBytes + 1, 'x');
      return 0;
    }
    return errno;
  }
  value.resize(static_cast<size_t>(got));
  out = std::move(value);
  return 0;
}

int write_record_xattr(int fd, const std::string& text) {
  return ::fsetxattr(fd, kLabelRecordXattr, text.data(), text.size(), 0) == 0 ? 0 : errno;
}

int remove_record_xattr(int fd) {
  if (::fremovexattr(fd, kLabelRecordXattr) == 0) return 0;
  return errno == ENODATA ? 0 : errno;
}

VmRunningCheck running_or_default(const VmRunningCheck& running,
                                  const std::filesystem::path& run_dir) {
  if (running) return running;
  return [run_dir](std::string_view vm_id) { return vm_launcher_running(run_dir, vm_id); };
}

// Drops the users whose launcher is gone (and `self`, whose entry the caller handles itself).
void drop_dead_users(LabelRecord& record, const VmRunningCheck& running) {
  std::erase_if(record.users, [&](const LabelUser& user) { return !running(user.vm_id); });
}

std::string describe_users(const std::vector<LabelUser>& users) {
  std::string text;
  for (size_t i = 0; i < users.size() && i < 8; ++i) {
    text += (i ? ", " : "") + std::string("VM \"") + users[i].vm_id + "\" (" +
            std::string(label_access_description(users[i].access)) + ")";
  }
  if (users.size() > 8) text += " and " + std::to_string(users.size() - 8) + " more";
  return text;
}

// Puts the file back as it was before Bulwark's first relabel, then removes the record (in that
// order: a crash between leaves a record that still says how to restore).
Status restore_original(int fd, const LabelRecord& record, const std::string& name,
                        FdXattrs& selinux) {
  const int err = record.original ? selinux.set(fd, *record.original + '\0') : selinux.remove(fd);
  if (err != 0) return Error::from_errno("restore security.selinux of " + name, err);
  if (int e = remove_record_xattr(fd); e != 0) {
    return Error::from_errno("remove " + std::string(kLabelRecordXattr) + " of " + name, e);
  }
  return ok_status();
}

Error unreadable_record(const std::string& name, const Error& why) {
  return Error(name + ": refused: its label record (" + kLabelRecordXattr +
               ") is not one Bulwark writes (" + why.message() +
               "); nothing was changed (once no VM uses the file, an administrator may remove "
               "the attribute)");
}

}  // namespace

bool vm_launcher_running(const std::filesystem::path& run_dir, std::string_view vm_id) {
  if (!validate_label_user_id(vm_id).ok()) return false;
  const std::filesystem::path path = run_dir / "vms" / (std::string(vm_id) + ".lock");
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (!fd.valid()) return false;
  if (::flock(fd.get(), LOCK_SH | LOCK_NB) == 0) {
    ::flock(fd.get(), LOCK_UN);
    return false;
  }
  return errno == EWOULDBLOCK;
}

std::string resolved_fd_path(int fd) {
  struct stat st{};
  if (::fstat(fd, &st) != 0 || st.st_nlink == 0) return "";
  char buf[PATH_MAX];
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  const ssize_t n = ::readlink(link.c_str(), buf, sizeof buf);
  if (n <= 0 || static_cast<size_t>(n) >= sizeof buf || buf[0] != '/') return "";
  return std::string(buf, static_cast<size_t>(n));
}

bool path_is_below_any(const std::string& resolved, const std::vector<std::string>& dirs) {
  if (resolved.empty() || resolved.front() != '/') return false;
  auto below = [&resolved](std::string dir) {
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    if (dir.empty() || dir.front() != '/' || dir == "/") return false;
    return resolved.size() > dir.size() + 1 && resolved.compare(0, dir.size(), dir) == 0 &&
           resolved[dir.size()] == '/';
  };
  for (const std::string& dir : dirs) {
    if (below(dir)) return true;
    std::error_code ec;
    const auto canonical = std::filesystem::canonical(dir, ec);
    if (!ec && below(canonical.string())) return true;
  }
  return false;
}

Result<LabelsLock> LabelsLock::take(const std::filesystem::path& run_dir) {
  auto dir = ReservationDirectory::open_or_create(run_dir);
  if (!dir.ok()) return dir.error().wrap("label memory lock");
  UniqueFd fd(::openat(dir->fd(), "labels.lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    return Error::from_errno("label memory lock: open " + (run_dir / "labels.lock").string(), errno);
  }
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) {
      return Error::from_errno("label memory lock: flock " + (run_dir / "labels.lock").string(),
                               errno);
    }
  }
  return LabelsLock(std::move(fd));
}

Result<LabelRelease> release_label_user(const std::filesystem::path& run_dir, int fd,
                                        std::string_view vm_id, const std::string& name,
                                        FdXattrs& selinux, const VmRunningCheck& running) {
  auto lock = LabelsLock::take(run_dir);
  if (!lock.ok()) return lock.error();
  std::optional<std::string> raw;
  if (int err = read_record_xattr(fd, raw); err != 0) {
    if (filesystem_refuses(err)) return LabelRelease::kNotAUser;
    return Error::from_errno("read " + std::string(kLabelRecordXattr) + " of " + name, err);
  }
  if (!raw) return LabelRelease::kNotAUser;
  auto record = parse_label_record(*raw);
  if (!record.ok()) {
    return Error(name + ": its label record (" + kLabelRecordXattr +
                 ") is not one Bulwark writes (" + record.error().message() + "); left as it is");
  }
  if (!record->remove(vm_id)) return LabelRelease::kNotAUser;
  drop_dead_users(*record, running_or_default(running, run_dir));
  if (record->users.empty()) {
    BULWARK_TRY(restore_original(fd, *record, name, selinux));
    return LabelRelease::kRestored;
  }
  auto text = format_label_record(*record);
  if (!text.ok()) return text.error().wrap(name);
  if (int err = write_record_xattr(fd, *text); err != 0) {
    return Error::from_errno("write " + std::string(kLabelRecordXattr) + " of " + name, err);
  }
  return LabelRelease::kDropped;
}

std::vector<std::string> label_record_holders(int fd, std::string_view except_vm_id,
                                              const std::filesystem::path& run_dir,
                                              const VmRunningCheck& running) {
  std::vector<std::string> holders;
  std::optional<std::string> raw;
  if (read_record_xattr(fd, raw) != 0 || !raw) return holders;
  auto record = parse_label_record(*raw);
  if (!record.ok()) return holders;
  const VmRunningCheck is_running = running_or_default(running, run_dir);
  for (const LabelUser& user : record->users) {
    if (user.vm_id == except_vm_id || !is_running(user.vm_id)) continue;
    holders.push_back("VM \"" + user.vm_id + "\" (" +
                      std::string(label_access_description(user.access)) + ")");
  }
  return holders;
}

LabelMemory::LabelMemory(std::filesystem::path run_dir, std::string vm_id, FdXattrs& selinux,
                         VmRunningCheck running)
    : run_dir_(std::move(run_dir)), vm_id_(std::move(vm_id)), selinux_(&selinux) {
  running_ = running_or_default(running, run_dir_);
}

LabelMemory::~LabelMemory() {
  if (Status s = release_all(); !s.ok()) log::error("restoring SELinux labels: " + s.error().message());
}

Result<LabelOutcome> LabelMemory::acquire(int fd, const std::string& name,
                                          const std::string& context, LabelAccess access) {
  if (Status s = validate_label_context(context); !s.ok()) {
    return s.error().wrap("SELinux context for " + name);
  }
  struct stat st{};
  if (::fstat(fd, &st) != 0) return Error::from_errno("label " + name + ": fstat", errno);
  for (const Held& held : files_) {
    if (held.dev != st.st_dev || held.ino != st.st_ino) continue;
    if (held.context == context && held.access == access) return LabelOutcome::kLabelled;
    return Error(name + ": refused: this VM already uses the same file as " + held.name + " (" +
                 std::string(label_access_description(held.access)) + ", " + held.context + ")");
  }

  auto lock = LabelsLock::take(run_dir_);
  if (!lock.ok()) return lock.error();
  std::optional<std::string> raw;
  if (int err = read_record_xattr(fd, raw); err != 0) {
    if (filesystem_refuses(err)) return LabelOutcome::kFilesystemRefused;
    return Error::from_errno("read " + std::string(kLabelRecordXattr) + " of " + name, err);
  }
  LabelRecord record;
  if (raw) {
    auto parsed = parse_label_record(*raw);
    if (!parsed.ok()) return unreadable_record(name, parsed.error());
    record = std::move(*parsed);
    // An entry of this VM id is an earlier launch's that died (this launcher holds the id now).
    record.remove(vm_id_);
    drop_dead_users(record, running_);
    if (!record.users.empty()) {
      bool all_shared = access == LabelAccess::kReadOnlyShared;
      for (const LabelUser& user : record.users) {
        all_shared = all_shared && user.access == LabelAccess::kReadOnlyShared;
      }
      if (!all_shared) {
        return Error(name + ": refused: the file is in use by " + describe_users(record.users) +
                     "; a file can be shared only when every VM using it, this one too, has it "
                     "read-only from the operator's shared_image_dirs (its label was left as it "
                     "is)");
      }
      if (record.label != context) {
        return Error(name + ": refused: shared by " + describe_users(record.users) + " as " +
                     record.label + ", but this VM would label it " + context);
      }
    }
  } else {
    std::optional<std::string> current;
    if (int err = selinux_->get(fd, current); err != 0) {
      if (filesystem_refuses(err)) return LabelOutcome::kFilesystemRefused;
      return Error::from_errno("read security.selinux of " + name, err);
    }
    if (current) {
      std::string original = *current;
      if (!original.empty() && original.back() == '\0') original.pop_back();
      if (Status s = validate_label_context(original); !s.ok()) {
        return Error(name + ": refused: its SELinux label is not a context label memory can keep (" +
                     s.error().message() + ")");
      }
      record.original = std::move(original);
    }
  }
  record.label = context;
  record.users.push_back({vm_id_, access});
  auto text = format_label_record(record);
  if (!text.ok()) return text.error().wrap(name + ": label record");

  UniqueFd kept(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!kept.valid()) return Error::from_errno("label " + name + ": dup", errno);
  // On record before anything changes: a launcher killed from here on leaves the sweep a way back.
  if (record_hook_) {
    LabelledFile file{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
                      resolved_fd_path(fd)};
    if (Status s = record_hook_(file); !s.ok()) return s.error().wrap("label " + name);
  }
  // The record first, then the label: a crash between leaves the original remembered.
  if (int err = write_record_xattr(fd, *text); err != 0) {
    if (filesystem_refuses(err) && !raw) return LabelOutcome::kFilesystemRefused;
    return Error::from_errno("write " + std::string(kLabelRecordXattr) + " of " + name, err);
  }
  if (int err = selinux_->set(fd, context + '\0'); err != 0) {
    const int undo = raw ? write_record_xattr(fd, *raw) : remove_record_xattr(fd);
    if (undo != 0) log::error(name + ": could not put its label record back after a failed relabel");
    if (filesystem_refuses(err) && !raw) return LabelOutcome::kFilesystemRefused;
    return Error::from_errno("set security.selinux of " + name + " to " + context, err);
  }
  files_.push_back({std::move(kept), st.st_dev, st.st_ino, name, context, access});
  return LabelOutcome::kLabelled;
}

Status LabelMemory::release_all() {
  Status first;
  for (auto it = files_.rbegin(); it != files_.rend(); ++it) {
    auto released = release_label_user(run_dir_, it->fd.get(), vm_id_, it->name, *selinux_, running_);
    if (!released.ok() && first.ok()) first = released.error();
  }
  files_.clear();
  return first;
}

}  // namespace bulwark::jailer
