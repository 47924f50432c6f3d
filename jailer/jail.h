// run_jailed(): the jail sequence, modelled as one linear list of checked steps. The launcher's
// half runs here; the child's half is jail_child.h. Every failure reads
// "jail step <name>: <what>: <strerror>" and undoes what the earlier steps made.
//
//   validate      spec fields (VM id, ids not root, paths absolute)
//   jail-dir      <base>/<id>/root, owned by the VM uid, 0700
//   jail-files    mount points, symlinks, generated files (vm.json) in the root; these and the
//                 jail-dir's are created with the VM's sVirt label (spec.create_label), if any
//   netns         open /run/netns/<name> when joining a named network namespace
//   cgroup        <parent>/<id> with the limits (v2, or each v1 controller)
//   clone         the child in new mount, pid, ipc, uts (and network) namespaces
//   cgroup-attach the child's pid into the cgroup, then the child may go on:
//   (child)       signals, netns, hostname, selinux, mount-private, bind-root, dev, bind-inputs,
//                 remount-root, pivot-root, rlimits, fds, capabilities, securebits, ids,
//                 pdeathsig, dumpable, no-new-privs, seccomp, exec
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bulwark/common/result.h"
#include "jailer/cgroup.h"
#include "jailer/jail_spec.h"
#include "jailer/launch_phases.h"

namespace bulwark::jail {

// How the jailed process ended.
struct ProcessEnd {
  bool exited = false;
  int exit_code = 0;    // when exited
  int signal = 0;       // when killed
  // The launcher's exit code: the process's own, or 128 + the signal that killed it.
  int launcher_exit_code() const { return exited ? exit_code : 128 + signal; }
};

// A stop asked for by something other than a signal (the API's Shutdown): SIGTERM `after` from
// now (or now, with terminate_now), then SIGKILL after wait()'s grace.
struct StopRequest {
  std::chrono::milliseconds after{0};
  bool terminate_now = true;
};

// Something else wait() serves while it waits (the VM's API channel): when fd() (polled each
// time round; -1 = nothing) is readable, on_readable() runs, and may ask for a stop.
// On the first stop signal, on_stop_signal() (when set) may start a graceful stop of its own
// (the guest's Ctrl-Alt-Del) and return true: SIGTERM then follows after wait()'s grace, and
// SIGKILL after another.
struct WaitHook {
  std::function<int()> fd;
  std::function<std::optional<StopRequest>()> on_readable;
  std::function<bool()> on_stop_signal;
  std::function<void()> on_tick;  // each time round (at least every 200 ms): periodic work
};

// "exited with status N", "was killed by seccomp (SIGSYS)", "was killed by signal N".
std::string describe_process_end(const ProcessEnd& end);

class RunningJail {
 public:
  ~RunningJail();  // kills a process still running, reaps it and tears the jail down
  RunningJail(const RunningJail&) = delete;
  RunningJail& operator=(const RunningJail&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& root_dir() const { return root_dir_; }
  const VmCgroup* cgroup() const { return cgroup_ ? &*cgroup_ : nullptr; }
  // How long each step of run_jailed took (launch_phases.h; api/README.md names them): the
  // child's steps only when no seccomp filter was installed before its execve.
  const std::vector<LaunchPhase>& launch_phases() const { return phases_; }

  // Waits for the process. The caller has blocked `stop_signals` (and SIGCHLD) in every thread
  // (block_launcher_signals()); the first of them to arrive is forwarded as SIGTERM, and after
  // `grace` the process gets SIGKILL. `stop_signal_received` reports whether one came.
  ProcessEnd wait(const sigset_t& stop_signals, std::chrono::milliseconds grace,
                  int* stop_signal_received, const WaitHook* hook = nullptr);
  // SIGTERM, then SIGKILL if it has not ended after `grace`; reaps it. For a process that is
  // not waited for with wait() (device processes). Returns how it ended.
  ProcessEnd stop(std::chrono::milliseconds grace);
  // Removes the cgroup and the jail directory; the process must have been reaped. Idempotent.
  Status teardown();

 private:
  friend Result<std::unique_ptr<RunningJail>> run_jailed(const JailSpec& spec);
  RunningJail() = default;
  void kill_and_reap();
  ProcessEnd end_;  // valid once reaped by wait() or stop()

  pid_t pid_ = -1;
  bool reaped_ = true;
  std::string instance_dir_;  // "" until created
  std::string root_dir_;
  std::optional<VmCgroup> cgroup_;
  std::vector<LaunchPhase> phases_;
};

// Starts spec's program in its jail. On error nothing is left behind. Call it from a
// single-threaded process: the child is a fork-like clone that runs ordinary code (allocations,
// libcap-ng) before execve.
Result<std::unique_ptr<RunningJail>> run_jailed(const JailSpec& spec);

// Blocks SIGTERM, SIGINT, SIGHUP, SIGCHLD and SIGPIPE in the calling thread (call it before any
// thread starts) and returns the stop signals among them for RunningJail::wait().
sigset_t block_launcher_signals();

}  // namespace bulwark::jail
