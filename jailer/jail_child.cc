#include "jailer/jail_child.h"

#include <cap-ng.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/securebits.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <grp.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "jailer/cgroup.h"
#include "jailer/jail_dir.h"
#include "jailer/jail_profile.h"
#include "jailer/launch_phases.h"

namespace bulwark::jail {

namespace {

// Well above any fd the spec asks for, so moving it cannot collide.
constexpr int kErrorFdSlot = 1000;

int g_error_fd = -1;
uint64_t* g_stamps = nullptr;

void stamp(ChildStamp which) {
  if (g_stamps != nullptr) std::atomic_ref<uint64_t>(g_stamps[which]).store(monotonic_ns(), std::memory_order_relaxed);
}

[[noreturn]] void fail(const char* step, const std::string& what, int errno_value) {
  std::string message = std::string("jail step ") + step + ": " + what;
  if (errno_value != 0) message += std::string(": ") + std::strerror(errno_value);
  if (g_error_fd >= 0) {
    ssize_t ignored = ::write(g_error_fd, message.data(), message.size());
    (void)ignored;
  }
  ::_exit(127);
}

void check(bool ok, const char* step, const std::string& what) {
  if (!ok) fail(step, what, errno);
}

void reset_signals() {
  sigset_t none;
  sigemptyset(&none);
  check(::sigprocmask(SIG_SETMASK, &none, nullptr) == 0, "signals", "sigprocmask");
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);  // EINVAL for some: harmless
  }
}

void wait_for_go(int go_fd) {
  char byte = 0;
  ssize_t n;
  do {
    n = ::read(go_fd, &byte, 1);
  } while (n < 0 && errno == EINTR);
  // EOF: the launcher gave up (it reports why); leave quietly.
  if (n != 1) ::_exit(127);
  ::close(go_fd);
}

void apply_selinux_context(const JailSpec& spec) {
  if (!spec.selinux_exec_context) return;
  struct stat st{};
  if (::stat("/sys/fs/selinux/enforce", &st) != 0) return;  // SELinux off: carried, not applied
  // What libselinux's setexeccon() does: the label the next execve() gives this task.
  Status s = write_existing_file("/proc/thread-self/attr/exec", *spec.selinux_exec_context);
  if (!s.ok()) fail("selinux", s.error().message(), 0);
}

void bind_read_only_remount(const char* step, const std::string& target, bool allow_exec) {
  unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV;
  if (!allow_exec) flags |= MS_NOEXEC;
  check(::mount(nullptr, target.c_str(), nullptr, flags, nullptr) == 0, step,
        "remount read-only " + target);
}

void bind_read_only(const char* step, const std::string& source, const std::string& target,
                    bool allow_exec) {
  check(::mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) == 0, step,
        "bind " + target);
  bind_read_only_remount(step, target, allow_exec);
}

// A tenant's input is attached from the detached mount the launcher made of the fd it opened
// as the VM's user (the path is not looked up again: a rename after the launcher's checks
// changes nothing); an operator's file or directory is bound from an O_PATH fd of its path.
void bind_input(const ReadOnlyInput& input, int tree_fd, const std::string& root) {
  const char* step = "bind-inputs";
  const std::string target = root + input.jail_path;
  if (input.check_vm_access) {
    if (input.fd < 0 || tree_fd < 0) {
      fail(step, input.host_path + ": a tenant's file was not opened as the VM user", 0);
    }
    // What is attached is what was opened: still a regular file (a tenant input is an image).
    struct stat st{};
    check(::fstat(tree_fd, &st) == 0, step, input.host_path);
    if (!S_ISREG(st.st_mode)) fail(step, input.host_path + ": not a regular file", 0);
    check(::move_mount(tree_fd, "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) == 0, step,
          "attach " + target);
    ::close(tree_fd);
    bind_read_only_remount(step, target, input.allow_exec);
    return;
  }
  const int fd = ::open(input.host_path.c_str(), O_PATH | O_CLOEXEC);
  check(fd >= 0, step, input.host_path);
  bind_read_only(step, "/proc/self/fd/" + std::to_string(fd), target, input.allow_exec);
  ::close(fd);
}

// An operator's writable directory: the one place the process can change (nosuid, nodev, noexec).
void bind_writable_dir(const WritableDir& dir, const std::string& root) {
  const char* step = "bind-inputs";
  const std::string target = root + dir.jail_path;
  const int fd = ::open(dir.host_path.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  check(fd >= 0, step, dir.host_path);
  check(::mount(("/proc/self/fd/" + std::to_string(fd)).c_str(), target.c_str(), nullptr, MS_BIND, nullptr) == 0,
        step, "bind " + target);
  ::close(fd);
  check(::mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                nullptr) == 0,
        step, "remount " + target);
}

void make_devices(const JailSpec& spec, const std::string& root) {
  if (spec.devices.empty()) return;
  const std::string dev = root + "/dev";
  // A private tmpfs: the nodes never touch the host's disk and vanish with the namespace.
  check(::mount("tmpfs", dev.c_str(), "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") == 0,
        "dev", "mount tmpfs on " + dev);
  for (const DeviceNode& node : spec.devices) {
    struct stat st{};
    check(::stat(node.host_path.c_str(), &st) == 0, "dev", node.host_path);
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) fail("dev", node.host_path + ": not a device", 0);
    const std::string path = root + node.jail_path;
    check(::mknod(path.c_str(), (st.st_mode & S_IFMT) | node.mode, st.st_rdev) == 0, "dev",
          "mknod " + path);
    check(::chown(path.c_str(), spec.uid, spec.gid) == 0, "dev", "chown " + path);
    check(::chmod(path.c_str(), node.mode) == 0, "dev", "chmod " + path);
  }
  check(::mount(nullptr, dev.c_str(), nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC,
                "mode=0755,size=64k") == 0,
        "dev", "remount read-only " + dev);
}

void enter_root(const std::string& root) {
  // The root goes read-only and noexec too: the process can change nothing in its jail and
  // runs code only from the mounts bound for that.
  check(::mount(nullptr, root.c_str(), nullptr,
                MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) == 0,
        "remount-root", root);
  check(::chdir(root.c_str()) == 0, "pivot-root", "chdir " + root);
  // pivot_root(".", "."): the old root ends up stacked on the new one and is detached at once,
  // so no directory for it is needed and nothing of the host stays reachable.
  check(::syscall(SYS_pivot_root, ".", ".") == 0, "pivot-root", "pivot_root " + root);
  check(::umount2(".", MNT_DETACH) == 0, "pivot-root", "detach the old root");
  check(::chdir("/") == 0, "pivot-root", "chdir /");
}

void set_rlimits(const Rlimits& limits) {
  const std::pair<int, uint64_t> table[] = {{RLIMIT_NOFILE, limits.nofile},
                                            {RLIMIT_FSIZE, limits.fsize},
                                            {RLIMIT_NPROC, limits.nproc},
                                            {RLIMIT_CORE, limits.core},
                                            {RLIMIT_MEMLOCK, limits.memlock}};
  for (const auto& [resource, value] : table) {
    const rlimit limit{value, value};
    check(::setrlimit(resource, &limit) == 0, "rlimits", "setrlimit " + std::to_string(resource));
  }
}

void arrange_fds(const JailSpec& spec) {
  // First copy every source above the targets (a source may be another entry's target). The
  // copies go just above the highest target, not above the error fd's slot: RLIMIT_NOFILE is
  // already in force and may be lower than that slot (device processes get 64).
  int above_targets = 3;
  for (const PassedFd& fd : spec.fds) above_targets = std::max(above_targets, fd.target + 1);
  std::vector<int> copies;
  for (const PassedFd& fd : spec.fds) {
    const int copy = ::fcntl(fd.source, F_DUPFD_CLOEXEC, above_targets);
    check(copy >= 0, "fds", "dup fd " + std::to_string(fd.source));
    copies.push_back(copy);
  }
  int highest_target = 2;
  for (size_t i = 0; i < spec.fds.size(); ++i) {
    check(::dup2(copies[i], spec.fds[i].target) >= 0, "fds",
          "dup2 to fd " + std::to_string(spec.fds[i].target));
    if (spec.fds[i].target > highest_target) highest_target = spec.fds[i].target;
  }
  // Everything else closes at execve (the error pipe must stay usable until then).
  check(::syscall(SYS_close_range, highest_target + 1, ~0U, CLOSE_RANGE_CLOEXEC) == 0, "fds",
        "close_range");
}

void drop_privileges(const JailSpec& spec) {
  // Bounding and ambient sets first: dropping from the bounding set needs CAP_SETPCAP.
  capng_clear(CAPNG_SELECT_ALL);
  check(capng_apply(CAPNG_SELECT_BOUNDS) == 0, "capabilities", "clear the bounding set");
  check(::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == 0, "capabilities",
        "clear the ambient set");
  // uid 0 never means privilege again, capabilities never survive a uid change, and none of
  // it can be undone.
  check(::prctl(PR_SET_SECUREBITS, kJailSecurebits, 0, 0, 0) == 0, "securebits",
        "PR_SET_SECUREBITS");
  check(::setgroups(0, nullptr) == 0, "ids", "setgroups");
  check(::setresgid(spec.gid, spec.gid, spec.gid) == 0, "ids", "setresgid " + std::to_string(spec.gid));
  check(::setresuid(spec.uid, spec.uid, spec.uid) == 0, "ids", "setresuid " + std::to_string(spec.uid));
  // The uid change cleared permitted and effective; inheritable needs clearing by hand.
  capng_clear(CAPNG_SELECT_BOTH);
  check(capng_apply(CAPNG_SELECT_BOTH) == 0, "capabilities", "clear all capability sets");
  capng_get_caps_process();
  if (capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE) {
    fail("capabilities", "capabilities remain after dropping them", 0);
  }
  // The launcher's death (even SIGKILL) takes the process with it. Set after the uid change,
  // which clears it.
  check(::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == 0, "pdeathsig", "PR_SET_PDEATHSIG");
  check(::prctl(PR_SET_DUMPABLE, kJailDumpable, 0, 0, 0) == 0, "dumpable", "PR_SET_DUMPABLE");
  check(::prctl(PR_SET_NO_NEW_PRIVS, kJailNoNewPrivs, 0, 0, 0) == 0, "no-new-privs",
        "PR_SET_NO_NEW_PRIVS");
}

void install_seccomp(const JailSpec& spec) {
  if (spec.seccomp_program.empty()) return;
  if (spec.seccomp_program.size() > BPF_MAXINSNS) fail("seccomp", "program too long", 0);
  sock_fprog program{static_cast<unsigned short>(spec.seccomp_program.size()),
                     const_cast<sock_filter*>(spec.seccomp_program.data())};
  check(::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program, 0, 0) == 0, "seccomp",
        "install the filter");
}

}  // namespace

Result<std::vector<UniqueFd>> detach_tenant_inputs(const JailSpec& spec) {
  std::vector<UniqueFd> trees;
  for (const ReadOnlyInput& input : spec.inputs) {
    if (!input.check_vm_access) continue;
    if (input.fd < 0) {
      return Error(input.host_path + ": a tenant's file was not opened as the VM user");
    }
    // The child closes its copy once attached; CLOEXEC keeps it from any program.
    const int tree = ::open_tree(input.fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
    if (tree < 0) return Error::from_errno("detach a mount of " + input.host_path, errno);
    trees.emplace_back(tree);
  }
  return trees;
}

void run_jailed_child(const JailSpec& spec, const ChildChannels& channels) {
  // The error pipe moves out of the way of the fds the program receives.
  g_error_fd = ::fcntl(channels.error_fd, F_DUPFD_CLOEXEC, kErrorFdSlot);
  if (g_error_fd < 0) ::_exit(127);
  ::close(channels.error_fd);

  g_stamps = channels.stamps;
  reset_signals();
  wait_for_go(channels.go_fd);
  stamp(kStampGo);

  if (channels.netns_fd >= 0) {
    check(::setns(channels.netns_fd, CLONE_NEWNET) == 0, "netns", "join /run/netns/" + spec.netns);
    ::close(channels.netns_fd);
  }
  check(::sethostname(spec.vm_id.data(), spec.vm_id.size()) == 0, "hostname", "sethostname");
  apply_selinux_context(spec);
  stamp(kStampLabel);

  // Mounts: nothing made below propagates back to the host.
  check(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0, "mount-private",
        "make / private");
  const std::string root = jail_root_dir(spec);
  check(::mount(root.c_str(), root.c_str(), nullptr, MS_BIND | MS_REC, nullptr) == 0, "bind-root",
        root);
  make_devices(spec, root);
  std::size_t next_tree = 0;
  for (const ReadOnlyInput& input : spec.inputs) {
    int tree_fd = -1;
    if (input.check_vm_access && next_tree < channels.input_trees.size()) {
      tree_fd = channels.input_trees[next_tree++];
    }
    bind_input(input, tree_fd, root);
  }
  for (const WritableDir& dir : spec.writable_dirs) bind_writable_dir(dir, root);
  stamp(kStampMounts);
  enter_root(root);
  stamp(kStampPivotRoot);

  set_rlimits(spec.rlimits);
  arrange_fds(spec);
  stamp(kStampFds);
  drop_privileges(spec);
  stamp(kStampUid);
  install_seccomp(spec);
  stamp(kStampSeccomp);

  std::vector<char*> argv;
  for (const std::string& arg : spec.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  char* empty_env[] = {nullptr};  // nothing of the launcher's environment crosses over
  ::execve(spec.exec_jail_path.c_str(), argv.data(), empty_env);
  fail("exec", spec.exec_jail_path, errno);
}

}  // namespace bulwark::jail
