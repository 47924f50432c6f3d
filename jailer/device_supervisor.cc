#include "jailer/device_supervisor.h"

#include <signal.h>

#include "api/command/command.h"
#include "bulwark/common/log.h"
#include "jailer/api/monitor_control.h"

namespace bulwark::jail {

DeviceEndAction device_end_action(const ProcessEnd& end) {
  if (end.exited && end.exit_code == 0) return DeviceEndAction::kLeave;
  if (!end.exited && end.signal == SIGSYS) return DeviceEndAction::kSecurityEvent;
  return DeviceEndAction::kRestart;
}

size_t RestartWindow::recent(std::chrono::steady_clock::time_point now) {
  const auto window = std::chrono::seconds(limit_.window_seconds);
  while (!restarts_.empty() && now - restarts_.front() >= window) restarts_.pop_front();
  return restarts_.size();
}

bool RestartWindow::allow(std::chrono::steady_clock::time_point now) {
  if (recent(now) >= limit_.max_restarts) return false;
  restarts_.push_back(now);
  return true;
}

DeviceSupervisor::DeviceSupervisor(std::string vm_id, DeviceRestartLimit limit, VmDevices& devices,
                                   int& monitor_control_fd, Hooks hooks)
    : vm_id_(std::move(vm_id)),
      limit_(limit),
      devices_(devices),
      monitor_control_fd_(monitor_control_fd),
      hooks_(std::move(hooks)) {
  for (size_t i = 0; i < devices_.device_count(); ++i) {
    windows_.emplace_back(limit_);
    counts_.push_back({devices_.device_name(i), 0, 0});
  }
}

void DeviceSupervisor::check() {
  for (size_t i = 0; i < devices_.device_count(); ++i) {
    const pid_t pid = devices_.device_pid(i);
    if (pid <= 0) continue;
    if (auto end = devices_.reap_if_ended(i)) handle_end(i, pid, *end);
  }
}

void DeviceSupervisor::handle_end(size_t index, pid_t pid, const ProcessEnd& end) {
  const std::string device = "VM " + vm_id_ + ": device " + devices_.device_name(index);
  const std::string ended = device + " (pid " + std::to_string(pid) + ") " + describe_process_end(end);
  switch (device_end_action(end)) {
    case DeviceEndAction::kLeave:
      log::info(ended + "; not restarted (a normal end: its frontend closed)");
      devices_.give_up(index);
      return;
    case DeviceEndAction::kSecurityEvent: {
      ++counts_[index].seccomp_kills;
      const std::string cause = hooks_.seccomp_cause ? hooks_.seccomp_cause(pid) : "system call unknown";
      log::error("VM " + vm_id_ + ": SECURITY: device " + devices_.device_name(index) + " (pid " +
                 std::to_string(pid) + ") was killed by seccomp (SIGSYS): " + cause + "; not restarted");
      devices_.give_up(index);
      fail_device(index);
      return;
    }
    case DeviceEndAction::kRestart:
      break;
  }
  log::warn(ended);
  const std::string limit_text = std::to_string(limit_.max_restarts) + " in " +
                                 std::to_string(limit_.window_seconds) + " s";
  RestartWindow& window = windows_[index];
  const auto now = std::chrono::steady_clock::now();
  if (!window.allow(now)) {
    const std::string why = limit_.max_restarts == 0
        ? "restarts are off (device_restart.max_restarts is 0)"
        : std::to_string(window.recent(now)) + " restarts in the last " + std::to_string(limit_.window_seconds) +
              " s (device_restart.max_restarts)";
    log::error(device + " not restarted: " + why);
    devices_.give_up(index);
    fail_device(index);
    return;
  }
  auto monitor_end = devices_.restart(index);
  if (!monitor_end.ok()) {
    log::error(device + " not restarted: " + monitor_end.error().message());
    fail_device(index);
    return;
  }
  ++counts_[index].restarts;
  const api::Reply reply =
      monitor_request_with_fd(monitor_control_fd_, api::ReplaceDevice{index}, monitor_end->get());
  monitor_end->reset();  // the monitor has its copy (or never will)
  const std::string pid_text = std::to_string(devices_.device_pid(index));
  if (reply.status != 204) {
    // The new process sees its socket close and ends; its end is reaped like any other.
    log::error(device + " restarted as pid " + pid_text + ", but the monitor did not take it (" +
               std::to_string(reply.status) + " " + reply.body + ")");
    return;
  }
  log::info(device + " restarted as pid " + pid_text + " (restart " + std::to_string(window.recent(now)) +
            " of at most " + limit_text + ")");
  const auto controls = devices_.control_fds();
  if (auto found = controls.find(devices_.device_name(index)); found != controls.end() && hooks_.control_replaced) {
    hooks_.control_replaced(found->first, found->second);
  }
}

void DeviceSupervisor::fail_device(size_t index) {
  const api::Reply reply = monitor_request_with_fd(monitor_control_fd_, api::ReplaceDevice{index}, -1);
  if (reply.status != 204) {
    log::warn("VM " + vm_id_ + ": device " + devices_.device_name(index) + ": the monitor did not confirm it failed the device (" +
              std::to_string(reply.status) + " " + reply.body + ")");
  }
}

std::vector<DeviceSupervisionCounts> DeviceSupervisor::counts() const { return counts_; }

}  // namespace bulwark::jail
