#include "jailer/stale_vm.h"

#include "jailer/net/tap_device.h"
#include "jailer/net_config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "jailer/cgroup.h"
#include "jailer/jail_dir.h"
#include "jailer/jail_config.h"
#include "jailer/svirt/label_memory.h"
#include "monitor/config/message_text.h"

namespace bulwark::jail {

namespace {

std::string record_name(const std::string& vm_id) { return vm_id + ".record"; }

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// Reads the record of a dead launch, if any: nullopt when there is none.
Result<std::optional<LaunchRecord>> read_record(const jailer::ReservationDirectory& dir,
                                                const std::string& name) {
  UniqueFd fd(::openat(dir.fd(), name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd.valid()) {
    if (errno == ENOENT) return std::optional<LaunchRecord>();
    return Error::from_errno("open " + (dir.path() / name).string(), errno);
  }
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
      st.st_size > static_cast<off_t>(kMaxLaunchRecordBytes)) {
    return Error((dir.path() / name).string() + ": not a launch record");
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::read(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  text.resize(done);
  auto record = parse_launch_record(text);
  if (!record.ok()) return record.error().wrap((dir.path() / name).string());
  return std::optional<LaunchRecord>(std::move(*record));
}

// Why a recorded jail directory may not be removed, or "" when it may: it must be a real
// directory (not a symlink) whose root is a real directory owned by the recorded uid.
std::string jail_dir_refusal(const std::string& dir, uid_t uid) {
  struct stat st{};
  if (::lstat(dir.c_str(), &st) != 0) return errno == ENOENT ? "gone" : "cannot stat it";
  if (!S_ISDIR(st.st_mode)) return "not a directory";
  if (st.st_uid != 0) return "not owned by root";
  struct stat root{};
  if (::lstat((dir + "/root").c_str(), &root) != 0 || !S_ISDIR(root.st_mode)) {
    return "it has no jail root directory";
  }
  if (root.st_uid != uid) {
    return "its root is owned by uid " + std::to_string(root.st_uid) + ", the record says " +
           std::to_string(uid);
  }
  return "";
}

// The recorded file, when the path still leads to that very inode: reopened readable through an
// O_PATH fd (nothing is opened for real before dev and inode are checked).
Result<UniqueFd> reopen_recorded_file(const RecordedLabel& label, std::string* why) {
  UniqueFd path_fd(::open(label.path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!path_fd.valid()) {
    *why = errno == ENOENT ? "gone" : "cannot open it";
    return UniqueFd();
  }
  struct stat st{};
  if (::fstat(path_fd.get(), &st) != 0) {
    *why = "cannot stat it";
    return UniqueFd();
  }
  if (static_cast<uint64_t>(st.st_dev) != label.dev || static_cast<uint64_t>(st.st_ino) != label.ino) {
    *why = "another file now (device " + std::to_string(st.st_dev) + ", inode " +
           std::to_string(st.st_ino) + "; the record says " + std::to_string(label.dev) + ", " +
           std::to_string(label.ino) + ")";
    return UniqueFd();
  }
  if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
    *why = "not a regular file or block device";
    return UniqueFd();
  }
  const std::string again = "/proc/self/fd/" + std::to_string(path_fd.get());
  UniqueFd fd(::open(again.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd.valid()) return Error::from_errno("reopen " + label.path, errno);
  return fd;
}

Status sweep_labels(const std::string& run_dir, const std::string& vm_id, const LaunchRecord& r,
                    SweepReport& report) {
  for (const RecordedLabel& label : r.labels) {
    const std::string name = config::quoted_text(label.path, 4096);
    std::string why;
    auto fd = reopen_recorded_file(label, &why);
    if (!fd.ok()) return fd.error();
    if (!fd->valid()) {
      if (why != "gone") report.left_alone.push_back(name + ": label memory left untouched: " + why);
      continue;
    }
    auto released = jailer::release_label_user(run_dir, fd->get(), vm_id, name);
    if (!released.ok()) {
      report.left_alone.push_back(released.error().message());
      continue;
    }
    if (*released == jailer::LabelRelease::kRestored) {
      report.labels_repaired.push_back(name + ": its original SELinux label is back (VM " + vm_id +
                                       " was its last user)");
    } else if (*released == jailer::LabelRelease::kDropped) {
      report.labels_repaired.push_back(name + ": VM " + vm_id +
                                       " left its label memory; other running VMs still use it");
    }
  }
  return ok_status();
}

}  // namespace

Result<jailer::HostReservation> claim_vm_id(const std::string& run_dir, const std::string& vm_id) {
  auto dir = jailer::ReservationDirectory::open_or_create(std::filesystem::path(run_dir) / "vms");
  if (!dir.ok()) return dir.error().wrap("VM id");
  const std::string name = vm_id + ".lock";
  auto claimed = jailer::HostReservation::try_claim(*dir, name, vm_id);
  if (!claimed.ok()) return claimed.error().wrap("VM id");
  if (!claimed->has_value()) {
    return Error("VM id " + vm_id + " is already running: held by " +
                 jailer::describe_holder(*dir, name));
  }
  return std::move(**claimed);
}

Result<std::vector<std::string>> remove_stale_reservations(const std::string& run_dir,
                                                           const std::string& vm_id) {
  std::vector<std::string> removed;
  for (const char* kind : {"ids", "mcs"}) {
    const std::filesystem::path path = std::filesystem::path(run_dir) / kind;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) continue;
    auto dir = jailer::ReservationDirectory::open_or_create(path);
    if (!dir.ok()) return dir.error();
    auto names = jailer::remove_stale_reservations_of(*dir, vm_id);
    if (!names.ok()) return names.error().wrap(path.string());
    for (const std::string& name : *names) removed.push_back((path / name).string());
  }
  return removed;
}

VmPlaces vm_places(const std::string& base_dir, const std::string& cgroup_root,
                   const std::string& cgroup_parent, const std::string& vm_id) {
  // .tpm: swtpm's jail (never its state dir); .vsock: bulwark-dev-vsock's jail.
  std::vector<std::string> names = {vm_id, vm_id + ".rng", vm_id + ".tpm", vm_id + ".vsock"};
  for (size_t i = 0; i < kMaxDisks; ++i) names.push_back(vm_id + ".blk" + std::to_string(i));
  for (size_t i = 0; i < kMaxNets; ++i) names.push_back(vm_id + ".net" + std::to_string(i));
  VmPlaces places;
  for (const std::string& name : names) {
    places.jail_dirs.push_back(base_dir + "/" + name);
    for (std::string& leaf : cgroup_leaf_candidates(cgroup_root, cgroup_parent, name)) {
      places.cgroup_dirs.push_back(std::move(leaf));
    }
  }
  return places;
}

// The TAPs a dead launch recorded (their queues closed with its processes, so a non-persistent
// TAP is normally gone already; one is left only if something still holds a queue).
Status sweep_taps(const std::string& vm_id, const LaunchRecord& r, const VmPlaces& places, SweepReport& report) {
  NetPlacement placement;
  placement.tap_prefix = places.tap_prefix;
  for (const RecordedTap& tap : r.taps) {
    const std::string what = "TAP " + config::quoted_text(tap.name) + " in " +
                             (tap.netns.empty() ? std::string("the launcher's namespace")
                                                : "netns " + config::quoted_text(tap.netns));
    bool ours = !places.tap_prefix.empty() && tap.netns == places.tap_netns;
    bool named = false;
    for (size_t i = 0; ours && i < kMaxNets; ++i) named = named || tap.name == tap_name(placement, r.uid, i);
    if (!ours || !named) {
      report.left_alone.push_back(what + ": not where the operator's settings put VM " + vm_id + "'s TAPs");
      continue;
    }
    auto removed = remove_tap(tap.netns, tap.name, tap.ifindex);
    if (!removed.ok()) return removed.error().wrap("sweep");
    if (*removed) report.removed.push_back(what);
  }
  return ok_status();
}

// The dead launch's vsock directory (vm_vsock.h): root:<its uid>, a real directory.
Status sweep_vsock_dir(const LaunchRecord& r, const VmPlaces& places, SweepReport& report) {
  if (places.vsock_dir.empty()) return ok_status();
  struct stat st{};
  if (::lstat(places.vsock_dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return ok_status();
    return Error::from_errno("sweep: stat " + places.vsock_dir, errno);
  }
  std::string why;
  if (!S_ISDIR(st.st_mode)) {
    why = "not a directory";
  } else if (st.st_uid != 0) {
    why = "not owned by root";
  } else if (st.st_gid != r.uid) {
    why = "its group is " + std::to_string(st.st_gid) + ", the record says " + std::to_string(r.uid);
  }
  if (!why.empty()) {
    report.left_alone.push_back(places.vsock_dir + ": " + why);
    return ok_status();
  }
  BULWARK_TRY(remove_tree(places.vsock_dir));
  report.removed.push_back(places.vsock_dir);
  return ok_status();
}

Result<SweepReport> sweep_recorded_leftovers(const std::string& run_dir, const std::string& vm_id,
                                             const VmPlaces& places) {
  SweepReport report;
  auto dir = jailer::ReservationDirectory::open_or_create(std::filesystem::path(run_dir) / "vms");
  if (!dir.ok()) return dir.error();
  const std::string name = record_name(vm_id);
  auto record = read_record(*dir, name);
  if (!record.ok()) {
    // Unreadable: nothing in it can be trusted to name Bulwark's own leftovers.
    report.left_alone.push_back(record.error().message());
  } else if (record->has_value()) {
    const LaunchRecord& r = **record;
    for (const std::string& jail : r.jail_dirs) {
      std::string why;
      if (!contains(places.jail_dirs, jail)) {
        why = "not where the operator's settings put VM " + vm_id + "'s jails";
      } else {
        why = jail_dir_refusal(jail, r.uid);
        if (why == "gone") continue;
      }
      if (!why.empty()) {
        report.left_alone.push_back(jail + ": " + why);
        continue;
      }
      BULWARK_TRY(remove_tree(jail));
      report.removed.push_back(jail);
    }
    for (const std::string& leaf : r.cgroup_dirs) {
      if (!contains(places.cgroup_dirs, leaf)) {
        report.left_alone.push_back(leaf + ": not where the operator's settings put VM " + vm_id +
                                    "'s cgroups");
        continue;
      }
      auto removed = remove_leftover_cgroup_leaf(leaf);
      if (!removed.ok()) return removed.error();
      if (*removed) report.removed.push_back(leaf);
    }
    BULWARK_TRY(sweep_labels(run_dir, vm_id, r, report));
    BULWARK_TRY(sweep_taps(vm_id, r, places, report));
    BULWARK_TRY(sweep_vsock_dir(r, places, report));
  }
  if (::unlinkat(dir->fd(), name.c_str(), 0) != 0 && errno != ENOENT) {
    return Error::from_errno("remove " + (dir->path() / name).string(), errno);
  }
  return report;
}

Result<LaunchRecordFile> LaunchRecordFile::create(const std::string& run_dir,
                                                  const std::string& vm_id, uid_t uid) {
  auto dir = jailer::ReservationDirectory::open_or_create(std::filesystem::path(run_dir) / "vms");
  if (!dir.ok()) return dir.error().wrap("launch record");
  LaunchRecordFile file;
  file.dir_fd_.reset(::fcntl(dir->fd(), F_DUPFD_CLOEXEC, 3));
  if (!file.dir_fd_.valid()) return Error::from_errno("launch record: dup", errno);
  file.name_ = record_name(vm_id);
  file.fd_.reset(::openat(file.dir_fd_.get(), file.name_.c_str(),
                          O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!file.fd_.valid()) {
    return Error::from_errno("launch record: create " + (dir->path() / file.name_).string(), errno);
  }
  file.owner_pid_ = ::getpid();
  LaunchRecord header;
  header.uid = uid;
  const std::string text = format_launch_record(header);
  if (::write(file.fd_.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
      ::fdatasync(file.fd_.get()) != 0) {
    return Error::from_errno("launch record: write", errno);
  }
  return file;
}

Status LaunchRecordFile::add(std::string_view kind, const std::string& path) {
  const std::string line = format_launch_record_entry(kind, path);
  if (::write(fd_.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size()) ||
      ::fdatasync(fd_.get()) != 0) {
    return Error::from_errno("launch record: write", errno);
  }
  return ok_status();
}

Status LaunchRecordFile::add_label(const RecordedLabel& label) {
  const std::string line = format_launch_record_label(label);
  if (::write(fd_.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size()) ||
      ::fdatasync(fd_.get()) != 0) {
    return Error::from_errno("launch record: write", errno);
  }
  return ok_status();
}

JailSpec::RecordHook LaunchRecordFile::hook() {
  return [this](std::string_view kind, const std::string& path) { return add(kind, path); };
}

LaunchRecordFile::~LaunchRecordFile() {
  if (!fd_.valid() || owner_pid_ != ::getpid()) return;
  fd_.reset();
  ::unlinkat(dir_fd_.get(), name_.c_str(), 0);
}

}  // namespace bulwark::jail
