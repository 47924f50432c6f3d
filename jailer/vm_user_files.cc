#include "jailer/vm_user_files.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "bulwark/common/fd_passing.h"
#include "monitor/config/message_text.h"

namespace bulwark::jail {

namespace {

// Where the helper stopped; sent back with the errno (and the st_mode or f_type it refused).
enum class HelperStep : int32_t {
  kDone = 0,
  kCapabilities,
  kIds,
  kLookup,      // openat2 O_PATH
  kFileType,    // not a regular file (detail: st_mode)
  kFilesystem,  // on a pseudo-filesystem (detail: f_type)
  kOpen,        // openat2 for I/O
  kChanged,     // the second open reached another inode
};

struct HelperReport {
  HelperStep step = HelperStep::kDone;
  int32_t err = 0;
  uint64_t detail = 0;
};

// Kernel pseudo-filesystems: their "files" are views of the host, never a VM's image.
bool pseudo_filesystem(uint64_t type) {
  switch (type) {
    case PROC_SUPER_MAGIC:
    case SYSFS_MAGIC:
    case CGROUP_SUPER_MAGIC:
    case CGROUP2_SUPER_MAGIC:
    case DEBUGFS_MAGIC:
    case TRACEFS_MAGIC:
    case SECURITYFS_MAGIC:
    case SELINUX_MAGIC:
    case BPF_FS_MAGIC:
    case EFIVARFS_MAGIC:
      return true;
    default:
      return false;
  }
}

bool type_allowed(mode_t mode, bool allow_block_device) {
  return S_ISREG(mode) || (allow_block_device && S_ISBLK(mode));
}

std::string describe_type(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device (the operator's allow_device_files is off)";
  if (S_ISLNK(mode)) return "a symlink";
  return "not a regular file";
}

long openat2_call(const char* path, uint64_t flags) {
  open_how how{};
  how.flags = flags;
  how.resolve = RESOLVE_NO_MAGICLINKS;
  return ::syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
}

[[noreturn]] void helper_send(int sock, const HelperReport& report, int fd) {
  // Nothing to do if it fails: the launcher sees the helper exit without a report.
  (void)send_with_fd(sock, &report, sizeof report, fd);
  ::_exit(0);
}

[[noreturn]] void helper_fail(int sock, HelperStep step, int err, uint64_t detail = 0) {
  helper_send(sock, HelperReport{step, err, detail}, -1);
}

// The capability sets are all empty and no capability can come back (bounding and ambient).
bool no_capabilities_left() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capget, &header, data) != 0) return false;
  for (const auto& set : data) {
    if (set.effective != 0 || set.permitted != 0 || set.inheritable != 0) return false;
  }
  for (int cap = 0; cap < 64; ++cap) {
    const int bounded = ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (bounded < 0) break;  // EINVAL: past the kernel's last capability
    if (bounded != 0) return false;
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) > 0) return false;
  }
  return true;
}

// The helper: becomes the VM's user for good, opens, sends the fd, exits. Runs in a child forked
// from a single-threaded process, so it may use what the parent prepared.
[[noreturn]] void helper_main(int sock, const char* path, int open_flags, uid_t uid, gid_t gid,
                              bool allow_block_device) {
  // The launcher's death (even SIGKILL) ends the helper too.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) helper_fail(sock, HelperStep::kIds, errno);
  // Bounding and ambient sets first: dropping from the bounding set needs CAP_SETPCAP.
  for (int cap = 0; cap < 64; ++cap) {
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
      if (errno == EINVAL) break;
      helper_fail(sock, HelperStep::kCapabilities, errno);
    }
  }
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) {
    helper_fail(sock, HelperStep::kCapabilities, errno);
  }
  if (::setgroups(0, nullptr) != 0) helper_fail(sock, HelperStep::kIds, errno);
  if (::setresgid(gid, gid, gid) != 0) helper_fail(sock, HelperStep::kIds, errno);
  if (::setresuid(uid, uid, uid) != 0) helper_fail(sock, HelperStep::kIds, errno);
  // The uid change emptied permitted and effective; inheritable is cleared by hand.
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capset, &header, none) != 0) helper_fail(sock, HelperStep::kCapabilities, errno);
  if (!no_capabilities_left()) helper_fail(sock, HelperStep::kCapabilities, 0);
  uid_t ruid, euid, suid;
  gid_t rgid, egid, sgid;
  if (::getresuid(&ruid, &euid, &suid) != 0 || ::getresgid(&rgid, &egid, &sgid) != 0 ||
      ruid != uid || euid != uid || suid != uid || rgid != gid || egid != gid || sgid != gid ||
      ::getgroups(0, nullptr) != 0) {
    helper_fail(sock, HelperStep::kIds, 0);
  }
  // The uid change already made it non-dumpable unless suid_dumpable says otherwise; make sure,
  // so no process of the VM's uid can ptrace it or read its fds through /proc.
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) helper_fail(sock, HelperStep::kIds, errno);

  // Look before opening: a FIFO or a device is never opened for I/O (no blocking, no side
  // effects of a device's open).
  const long probe = openat2_call(path, O_PATH | O_CLOEXEC);
  if (probe < 0) helper_fail(sock, HelperStep::kLookup, errno);
  struct stat looked{};
  if (::fstat(static_cast<int>(probe), &looked) != 0) helper_fail(sock, HelperStep::kLookup, errno);
  if (!type_allowed(looked.st_mode, allow_block_device)) {
    helper_fail(sock, HelperStep::kFileType, 0, looked.st_mode);
  }
  struct statfs fs{};
  if (::fstatfs(static_cast<int>(probe), &fs) != 0) helper_fail(sock, HelperStep::kLookup, errno);
  if (pseudo_filesystem(static_cast<uint64_t>(fs.f_type))) {
    helper_fail(sock, HelperStep::kFilesystem, 0, static_cast<uint64_t>(fs.f_type));
  }
  const long opened = openat2_call(path, static_cast<uint64_t>(open_flags));
  if (opened < 0) helper_fail(sock, HelperStep::kOpen, errno);
  struct stat now{};
  if (::fstat(static_cast<int>(opened), &now) != 0) helper_fail(sock, HelperStep::kOpen, errno);
  if (now.st_dev != looked.st_dev || now.st_ino != looked.st_ino) {
    helper_fail(sock, HelperStep::kChanged, 0);
  }
  helper_send(sock, HelperReport{}, static_cast<int>(opened));
}

// Owns the helper until it is reaped; a helper still running when this goes is killed.
class Helper {
 public:
  explicit Helper(pid_t pid) : pid_(pid) {
    pidfd_ = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  }
  Helper(const Helper&) = delete;
  Helper& operator=(const Helper&) = delete;
  ~Helper() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      reap();
    }
  }
  // Waits until `deadline` for the helper to exit, then kills it; reaps it either way.
  void finish(std::chrono::steady_clock::time_point deadline) {
    if (pid_ <= 0) return;
    if (pidfd_.valid()) {
      pollfd p{pidfd_.get(), POLLIN, 0};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      int rc;
      do {
        rc = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
      } while (rc < 0 && errno == EINTR);
      if (rc <= 0) ::kill(pid_, SIGKILL);
    } else {
      ::kill(pid_, SIGKILL);  // no pidfd (old kernel): it has sent its answer already
    }
    reap();
  }

 private:
  void reap() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  pid_t pid_;
  UniqueFd pidfd_;
};

// 1 on a report (and maybe an fd), 0 on timeout, -errno on failure.
int receive_report(int sock, std::chrono::steady_clock::time_point deadline, HelperReport& report,
                   UniqueFd& fd) {
  pollfd p{sock, POLLIN, 0};
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return 0;
    const int rc = ::poll(&p, 1, static_cast<int>(left.count()));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return -errno;
    if (rc == 0) return 0;
    break;
  }
  iovec iov{&report, sizeof report};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  const ssize_t n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  if (n < 0) return -errno;
  if (n == 0) return -ECONNRESET;  // the helper died without answering
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
        c->cmsg_len == CMSG_LEN(sizeof(int))) {
      int received = -1;
      std::memcpy(&received, CMSG_DATA(c), sizeof received);
      fd.reset(received);
    }
  }
  if (static_cast<size_t>(n) != sizeof report || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
    return -EPROTO;
  }
  return 1;
}

std::string as_user(uid_t uid, gid_t gid) {
  return " (opened as uid " + std::to_string(uid) + ", gid " + std::to_string(gid) +
         ", no supplementary groups)";
}

Error helper_error(const std::string& quoted, const HelperReport& report, uid_t uid, gid_t gid) {
  switch (report.step) {
    case HelperStep::kCapabilities:
      return Error::from_errno(quoted + ": the opening helper could not drop every capability",
                               report.err);
    case HelperStep::kIds:
      return Error::from_errno(quoted + ": the opening helper could not become uid " +
                                   std::to_string(uid) + ", gid " + std::to_string(gid),
                               report.err);
    case HelperStep::kLookup:
    case HelperStep::kOpen:
      if (report.err == ELOOP) {
        return Error(quoted + ": refused: the path goes through a /proc magic link "
                              "(/proc/<pid>/root, /proc/self/cwd, /proc/self/fd/N, ...) or "
                              "too many symlinks");
      }
      if (report.err == ENOSYS) return Error(quoted + ": this kernel has no openat2(2) (Linux 5.6+)");
      return Error::from_errno(quoted + as_user(uid, gid), report.err);
    case HelperStep::kFileType:
      return Error(quoted + ": refused: " + describe_type(static_cast<mode_t>(report.detail)) +
                   ", not a regular file");
    case HelperStep::kFilesystem:
      return Error(quoted + ": refused: on a kernel pseudo-filesystem such as /proc or /sys");
    case HelperStep::kChanged:
      return Error(quoted + ": refused: the file changed while it was being opened");
    case HelperStep::kDone:
      break;
  }
  return Error(quoted + ": the opening helper sent no file");
}

// The launcher's own checks of what it received: it trusts the kernel's answer about the fd,
// not the helper's word.
Status check_received(const std::string& quoted, int fd, const VmUserFileOptions& options,
                      VmUserFile& file) {
  struct stat st{};
  if (::fstat(fd, &st) != 0) return Error::from_errno(quoted + ": fstat", errno);
  if (!type_allowed(st.st_mode, options.allow_block_device)) {
    return Error(quoted + ": refused: " + describe_type(st.st_mode) + ", not a regular file");
  }
  struct statfs fs{};
  if (::fstatfs(fd, &fs) != 0) return Error::from_errno(quoted + ": fstatfs", errno);
  if (pseudo_filesystem(static_cast<uint64_t>(fs.f_type))) {
    return Error(quoted + ": refused: on a kernel pseudo-filesystem such as /proc or /sys");
  }
  const int status_flags = ::fcntl(fd, F_GETFL);
  if (status_flags < 0) return Error::from_errno(quoted + ": fcntl", errno);
  const int wanted = options.access == VmFileAccess::kReadWrite ? O_RDWR : O_RDONLY;
  if ((status_flags & O_ACCMODE) != wanted) return Error(quoted + ": opened with the wrong access mode");
  // Blocking from here on: the type is known now, and O_NONBLOCK is not ours to leave behind.
  if (::fcntl(fd, F_SETFL, status_flags & ~O_NONBLOCK) != 0) {
    return Error::from_errno(quoted + ": fcntl", errno);
  }
  file.dev = st.st_dev;
  file.ino = st.st_ino;
  file.block_device = S_ISBLK(st.st_mode);
  if (file.block_device) {
    uint64_t bytes = 0;
    if (::ioctl(fd, BLKGETSIZE64, &bytes) != 0) {
      return Error::from_errno(quoted + ": size of the block device", errno);
    }
    file.size = bytes;
  } else {
    file.size = static_cast<uint64_t>(st.st_size);
  }
  return ok_status();
}

}  // namespace

bool names_proc_or_sys(const std::string& path) {
  const std::filesystem::path normal = std::filesystem::path(path).lexically_normal();
  auto it = normal.begin();
  if (it == normal.end() || it->string() != "/") return false;
  ++it;
  return it != normal.end() && (it->string() == "proc" || it->string() == "sys");
}

Result<VmUserFile> open_as_vm_user(const std::string& path, uid_t uid, gid_t gid,
                                   const VmUserFileOptions& options) {
  const std::string quoted = config::quoted_text(path, 4096);
  if (path.empty()) return Error("an empty path: refused");
  if (path.find('\0') != std::string::npos) return Error(quoted + ": refused: contains a NUL byte");
  if (names_proc_or_sys(path)) return Error(quoted + ": refused: a path under /proc or /sys");
  if (uid == 0 || gid == 0) return Error(quoted + ": refused: the VM's user may not be root");

  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    return Error::from_errno(quoted + ": socketpair for the opening helper", errno);
  }
  UniqueFd ours(pair[0]), theirs(pair[1]);
  const int open_flags = (options.access == VmFileAccess::kReadWrite ? O_RDWR : O_RDONLY) |
                         O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  // Plain fork: the launcher is single-threaded while it opens VM files.
  const pid_t pid = ::fork();
  if (pid < 0) return Error::from_errno(quoted + ": fork the opening helper", errno);
  if (pid == 0) {
    ::close(ours.release());
    helper_main(theirs.get(), path.c_str(), open_flags, uid, gid, options.allow_block_device);
  }
  Helper helper(pid);
  theirs.reset();

  HelperReport report;
  UniqueFd fd;
  const int received = receive_report(ours.get(), deadline, report, fd);
  helper.finish(deadline);
  if (received == 0) {
    return Error(quoted + ": refused: not opened within " +
                 std::to_string(options.timeout.count()) + " ms (the helper was killed)");
  }
  if (received < 0) return Error::from_errno(quoted + ": the opening helper's answer", -received);
  if (report.step != HelperStep::kDone || !fd.valid()) return helper_error(quoted, report, uid, gid);

  VmUserFile file;
  file.path = path;
  BULWARK_TRY(check_received(quoted, fd.get(), options, file));
  file.fd = std::move(fd);
  return file;
}

}  // namespace bulwark::jail
