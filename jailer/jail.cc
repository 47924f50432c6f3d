#include "jailer/jail.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/signalfd.h>
#include <poll.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <thread>
#include <atomic>
#include <cstring>
#include <iterator>
#include <utility>

#include "bulwark/common/unique_fd.h"
#include "jailer/jail_child.h"
#include "jailer/jail_dir.h"
#include "jailer/jail_profile.h"
#include "jailer/vm_id.h"

namespace bulwark::jail {

namespace {

Error step_error(const char* step, const Error& error) {
  return Error(std::string("jail step ") + step + ": " + error.message());
}

Status validate_spec(const JailSpec& spec) {
  BULWARK_TRY(validate_jail_name(spec.vm_id));
  if (spec.uid == 0 || spec.gid == 0) return Error("uid and gid must not be 0 (root)");
  if (spec.base_dir.empty() || spec.base_dir[0] != '/') return Error("base_dir must be absolute");
  if (spec.cgroup_root.empty() || spec.cgroup_root[0] != '/') {
    return Error("cgroup root must be absolute");
  }
  if (spec.argv.empty()) return Error("argv is empty");
  if (spec.exec_jail_path.empty() || spec.exec_jail_path[0] != '/') {
    return Error("the executable's path inside the jail must be absolute");
  }
  for (const PassedFd& fd : spec.fds) {
    if (fd.source < 0 || fd.target < 0 || fd.target >= 1000) return Error("bad fd to pass");
  }
  return ok_status();
}

// The page the jailed child writes its step readings into (jail_child.h's ChildStamp): shared
// with the launcher, and gone from the child at its execve.
class SharedStamps {
 public:
  SharedStamps() {
    void* page = ::mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (page != MAP_FAILED) stamps_ = static_cast<uint64_t*>(page);
  }
  ~SharedStamps() {
    if (stamps_ != nullptr) ::munmap(stamps_, kBytes);
  }
  SharedStamps(const SharedStamps&) = delete;
  SharedStamps& operator=(const SharedStamps&) = delete;
  uint64_t* stamps() const { return stamps_; }

 private:
  static constexpr size_t kBytes = 4096;
  static_assert(kChildStampCount * sizeof(uint64_t) <= kBytes);
  uint64_t* stamps_ = nullptr;
};

// The child's phases from its readings, the last (exec) ending at `exec_seen` (its error pipe
// closed). Nothing when a reading is missing.
void add_child_phases(uint64_t* stamps, uint64_t exec_seen, std::vector<LaunchPhase>& phases) {
  if (stamps == nullptr) return;
  uint64_t read[kChildStampCount];
  for (size_t i = 0; i < kChildStampCount; ++i) {
    read[i] = std::atomic_ref<uint64_t>(stamps[i]).load(std::memory_order_relaxed);
    if (read[i] == 0) return;
  }
  const char* names[] = {"selinux_label", "mounts", "pivot_root", "fds", "uid", "seccomp"};
  static_assert(std::size(names) == kChildStampCount - 1);
  for (size_t i = 1; i < kChildStampCount; ++i) phases.push_back({names[i - 1], elapsed_ns(read[i - 1], read[i])});
  phases.push_back({"exec", elapsed_ns(read[kStampSeccomp], exec_seen)});
}

}  // namespace

sigset_t block_launcher_signals() {
  sigset_t blocked;
  sigemptyset(&blocked);
  // SIGPIPE too: a write to a child that already died must fail with EPIPE, not kill the
  // launcher before it cleans up.
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGPIPE}) sigaddset(&blocked, sig);
  ::sigprocmask(SIG_BLOCK, &blocked, nullptr);
  sigset_t stop = blocked;
  sigdelset(&stop, SIGCHLD);
  sigdelset(&stop, SIGPIPE);
  return stop;
}

Result<std::unique_ptr<RunningJail>> run_jailed(const JailSpec& spec) {
  // Owns everything made so far: returning early destroys it, which undoes the steps.
  std::unique_ptr<RunningJail> jail(new RunningJail());

  // Step validate.
  if (Status s = validate_spec(spec); !s.ok()) return step_error("validate", s.error());
  uint64_t mark = monotonic_ns();
  auto phase_done = [&jail, &mark](const char* name) {
    const uint64_t now = monotonic_ns();
    jail->phases_.push_back({name, elapsed_ns(mark, now)});
    mark = now;
  };

  // Step jail-dir: <base>/<id>/root, owned by the VM's uid, 0700; labelled at creation, as is
  // everything step jail-files makes (spec.create_label, jail_dir.h).
  jail->root_dir_ = jail_root_dir(spec);
  if (spec.record_created) {
    if (Status s = spec.record_created("jail", jail_instance_dir(spec)); !s.ok()) {
      return step_error("jail-dir", s.error());
    }
  }
  if (Status s = create_jail_dir(spec); !s.ok()) {
    // Remove the instance dir only if this run made it (not another VM's with this id).
    if (s.error().message().find("already exists") == std::string::npos) {
      jail->instance_dir_ = jail_instance_dir(spec);
    }
    return step_error("jail-dir", s.error());
  }
  jail->instance_dir_ = jail_instance_dir(spec);

  // Step jail-files: mount points, symlinks, generated files.
  if (Status s = populate_jail_dir(spec); !s.ok()) return step_error("jail-files", s.error());

  // Step netns: a named namespace must exist now, before any process runs.
  UniqueFd netns_fd;
  if (!spec.netns.empty()) {
    const std::string path = "/run/netns/" + spec.netns;
    netns_fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!netns_fd.valid()) return step_error("netns", Error::from_errno(path, errno));
  }
  phase_done("jail_dir");

  // Step cgroup: <parent>/<id> with the limits.
  auto cgroup = VmCgroup::create(spec.cgroup_root, spec.cgroup_parent, spec.vm_id, spec.limits);
  if (!cgroup.ok()) return step_error("cgroup", cgroup.error());
  jail->cgroup_.emplace(std::move(*cgroup));
  if (spec.record_created) {
    for (const std::string& dir : jail->cgroup_->dirs()) {
      if (Status s = spec.record_created("cgroup", dir); !s.ok()) return step_error("cgroup", s.error());
    }
  }
  phase_done("cgroup");

  // Step clone: new namespaces; the child waits on `go` until it is in its cgroup.
  int go_pipe[2], error_pipe[2];
  if (::pipe2(go_pipe, O_CLOEXEC) != 0) return step_error("clone", Error::from_errno("pipe", errno));
  UniqueFd go_read(go_pipe[0]), go_write(go_pipe[1]);
  if (::pipe2(error_pipe, O_CLOEXEC) != 0) {
    return step_error("clone", Error::from_errno("pipe", errno));
  }
  UniqueFd error_read(error_pipe[0]), error_write(error_pipe[1]);
  auto input_trees = detach_tenant_inputs(spec);
  if (!input_trees.ok()) return step_error("bind-inputs", input_trees.error());
  std::vector<int> input_tree_fds;
  for (const UniqueFd& tree : *input_trees) input_tree_fds.push_back(tree.get());
  const unsigned long flags = jail_namespace_flags(spec) | SIGCHLD;  // jail_profile.h
  // The child reads the clock only when no filter is installed before its execve (the
  // monitor's case: it installs its own policy): behind a filter, a reading can be a system call
  // the filter refuses (hosts whose clocksource the vDSO cannot read).
  SharedStamps shared;
  uint64_t* stamps = spec.seccomp_program.empty() ? shared.stamps() : nullptr;
  // A fork-like clone (no new stack): the launcher is single-threaded here.
  const long pid = ::syscall(SYS_clone, flags, nullptr, nullptr, nullptr, nullptr);
  if (pid < 0) return step_error("clone", Error::from_errno("clone", errno));
  if (pid == 0) {
    go_write.release();  // not closed: the child must not run its destructors' side effects
    error_read.release();
    run_jailed_child(spec, ChildChannels{go_read.release(), error_write.release(),
                                         netns_fd.release(), input_tree_fds, stamps});
  }
  jail->pid_ = static_cast<pid_t>(pid);
  jail->reaped_ = false;
  go_read.reset();
  error_write.reset();
  netns_fd.reset();
  phase_done("namespaces");

  // Step cgroup-attach: the child is in its cgroup before it does anything.
  if (Status s = jail->cgroup_->add_process(jail->pid_); !s.ok()) {
    return step_error("cgroup-attach", s.error());
  }
  phase_done("cgroup_attach");
  const char go = 'g';
  if (::write(go_write.get(), &go, 1) != 1) {
    return step_error("clone", Error::from_errno("signal the child", errno));
  }
  go_write.reset();

  // The child's steps: the error pipe closes at execve (success) or carries the failure.
  std::string child_error;
  char buffer[512];
  for (;;) {
    const ssize_t n = ::read(error_read.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    child_error.append(buffer, static_cast<size_t>(n));
    if (child_error.size() > 4096) break;
  }
  if (!child_error.empty()) return Error(child_error);
  add_child_phases(stamps, monotonic_ns(), jail->phases_);
  return jail;
}

std::string describe_process_end(const ProcessEnd& end) {
  if (end.exited) return "exited with status " + std::to_string(end.exit_code);
  if (end.signal == SIGSYS) return "was killed by seccomp (SIGSYS)";
  return "was killed by signal " + std::to_string(end.signal);
}

ProcessEnd RunningJail::wait(const sigset_t& stop_signals, std::chrono::milliseconds grace,
                             int* stop_signal_received, const WaitHook* hook) {
  sigset_t waited = stop_signals;
  sigaddset(&waited, SIGCHLD);
  // The signals stay blocked; a signalfd lets one poll() wait for them and the hook's fd at once.
  UniqueFd signals(::signalfd(-1, &waited, SFD_CLOEXEC | SFD_NONBLOCK));
  // Zero: no SIGKILL scheduled (a plain value: gcc's maybe-uninitialized misfires on optional).
  std::chrono::steady_clock::time_point kill_at{}, term_at{};
  bool kill_scheduled = false, term_scheduled = false, stop_signal_seen = false;
  auto stop_within = [&](std::chrono::milliseconds period) {
    ::kill(pid_, SIGTERM);
    const auto at = std::chrono::steady_clock::now() + period;
    if (!kill_scheduled || at < kill_at) kill_at = at;
    kill_scheduled = true;
  };
  if (stop_signal_received != nullptr) *stop_signal_received = 0;
  for (;;) {
    int status = 0;
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      reaped_ = true;
      ProcessEnd end;
      end.exited = WIFEXITED(status);
      end.exit_code = end.exited ? WEXITSTATUS(status) : 0;
      end.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
      return end;
    }
    if (kill_scheduled && std::chrono::steady_clock::now() >= kill_at) {
      ::kill(pid_, SIGKILL);
      kill_scheduled = false;
    }
    if (hook != nullptr && hook->on_tick) hook->on_tick();
    if (term_scheduled && std::chrono::steady_clock::now() >= term_at) {
      term_scheduled = false;
      stop_within(grace);
    }
    // Wake at least every 200 ms: SIGCHLD can coalesce and the grace period must end.
    pollfd fds[2] = {{signals.get(), POLLIN, 0}, {hook != nullptr && hook->fd ? hook->fd() : -1, POLLIN, 0}};
    const int ready = signals.valid() ? ::poll(fds, 2, 200) : 0;
    if (!signals.valid()) {
      // No signalfd (fds ran out): the old way, signals only.
      const timespec tick{0, 200 * 1000 * 1000};
      siginfo_t info{};
      const int sig = ::sigtimedwait(&waited, &info, &tick);
      if (sig > 0 && sig != SIGCHLD && sigismember(&stop_signals, sig)) {
        if (stop_signal_received != nullptr && *stop_signal_received == 0) *stop_signal_received = sig;
        stop_within(grace);
      }
      continue;
    }
    if (ready <= 0) continue;
    if (fds[0].revents != 0) {
      signalfd_siginfo info{};
      while (::read(signals.get(), &info, sizeof(info)) == static_cast<ssize_t>(sizeof(info))) {
        const int sig = static_cast<int>(info.ssi_signo);
        if (sig != SIGCHLD && sigismember(&stop_signals, sig)) {
          const bool first = !stop_signal_seen;
          stop_signal_seen = true;
          if (stop_signal_received != nullptr && *stop_signal_received == 0) *stop_signal_received = sig;
          if (first && hook != nullptr && hook->on_stop_signal && hook->on_stop_signal()) {
            if (!term_scheduled && !kill_scheduled) {
              term_at = std::chrono::steady_clock::now() + grace;
              term_scheduled = true;
            }
          } else {
            stop_within(grace);
          }
        }
      }
    }
    if (fds[1].fd >= 0 && fds[1].revents != 0) {
      if (auto asked = hook->on_readable(); asked) {
        if (asked->terminate_now) {
          stop_within(asked->after);
        } else if (!term_scheduled && !kill_scheduled) {
          term_at = std::chrono::steady_clock::now() + asked->after;
          term_scheduled = true;
        }
      }
    }
  }
}

ProcessEnd RunningJail::stop(std::chrono::milliseconds grace) {
  if (reaped_ || pid_ <= 0) return end_;
  ::kill(pid_, SIGTERM);
  const auto kill_at = std::chrono::steady_clock::now() + grace;
  int status = 0;
  for (;;) {
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) break;
    if (done < 0 && errno != EINTR) return end_;
    if (std::chrono::steady_clock::now() >= kill_at) {
      ::kill(pid_, SIGKILL);
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  reaped_ = true;
  end_.exited = WIFEXITED(status);
  end_.exit_code = end_.exited ? WEXITSTATUS(status) : 0;
  end_.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  return end_;
}

void RunningJail::kill_and_reap() {
  if (reaped_ || pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
}

Status RunningJail::teardown() {
  kill_and_reap();
  Status first = ok_status();
  if (cgroup_) {
    Status s = cgroup_->remove();
    if (!s.ok()) first = s;
    cgroup_.reset();
  }
  if (!instance_dir_.empty()) {
    Status s = remove_tree(instance_dir_);
    if (!s.ok() && first.ok()) first = s;
    instance_dir_.clear();
  }
  return first;
}

RunningJail::~RunningJail() { (void)teardown(); }

}  // namespace bulwark::jail
