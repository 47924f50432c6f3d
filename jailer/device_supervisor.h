// The launcher's watch over a running VM's device processes (issue 18): a device process that
// dies is replaced by a fresh one in a fresh jail, within the operator's limit (host config
// "device_restart"), and the monitor is handed its new socket (ReplaceDevice on its control
// channel). Never after a seccomp kill: a device killed by SIGSYS was trying something its
// policy forbids (a compromised process), so it is failed and logged as a security event, not
// given a retry loop. A device that exits 0 ended normally (its frontend closed) and is left.
// Whose input: how each process ended (the kernel's wait status) and the operator's limit; the
// monitor's answer to ReplaceDevice is decoded as hostile (monitor_control.h).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "jailer/api/device_metrics.h"
#include "jailer/host_config.h"
#include "jailer/jail.h"
#include "jailer/vm_devices.h"

namespace bulwark::jail {

// What a device's end calls for.
enum class DeviceEndAction {
  kLeave,          // exited 0: its frontend closed, a normal end
  kSecurityEvent,  // killed by SIGSYS: seccomp; never restarted
  kRestart,        // anything else (a crash, SIGKILL, an OOM kill, a nonzero exit)
};
DeviceEndAction device_end_action(const ProcessEnd& end);

// At most `max_restarts` restarts within any `window_seconds`: one device's budget.
class RestartWindow {
 public:
  explicit RestartWindow(DeviceRestartLimit limit) : limit_(limit) {}
  // Whether a restart at `now` stays within the limit; a restart allowed is counted.
  bool allow(std::chrono::steady_clock::time_point now);
  // Restarts counted within the window ending at `now`.
  size_t recent(std::chrono::steady_clock::time_point now);

 private:
  DeviceRestartLimit limit_;
  std::deque<std::chrono::steady_clock::time_point> restarts_;
};

class DeviceSupervisor {
 public:
  struct Hooks {
    // "system call socket (41)" for a device process killed by seccomp (the kernel's log).
    std::function<std::string(pid_t)> seccomp_cause;
    // A disk's or NIC's new control channel end (VmApi::replace_device_control).
    std::function<void(const std::string& name, int control_fd)> control_replaced;
  };
  // `monitor_control_fd` is the launcher's end of the monitor's control channel, shared with
  // the other users of it (set to -1 when it is given up). `devices` outlives this object.
  DeviceSupervisor(std::string vm_id, DeviceRestartLimit limit, VmDevices& devices, int& monitor_control_fd,
                   Hooks hooks);

  // Reaps every device process that ended and acts on it. Called from the launcher's wait loop
  // (at least every 200 ms; a child's death wakes it).
  void check();
  // Restarts and seccomp kills so far, per device (GET /metrics).
  std::vector<DeviceSupervisionCounts> counts() const;

 private:
  void handle_end(size_t index, pid_t pid, const ProcessEnd& end);
  // ReplaceDevice without an fd: the monitor fails the device now.
  void fail_device(size_t index);

  std::string vm_id_;
  DeviceRestartLimit limit_;
  VmDevices& devices_;
  int& monitor_control_fd_;
  Hooks hooks_;
  std::vector<RestartWindow> windows_;
  std::vector<DeviceSupervisionCounts> counts_;
};

}  // namespace bulwark::jail
