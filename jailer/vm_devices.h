// The device processes of one VM: one jailed bulwark-dev-blk per disk, one bulwark-dev-net per
// NIC (on a TAP the launcher makes, jailer/net/tap_device.h), a bulwark-dev-rng and a
// bulwark-dev-vsock (on the VM's vsock directory and listening socket, jailer/vm_vsock.h),
// each connected to the monitor by a socketpair the launcher makes (no socket file exists, so
// nothing else on the host can reach a device), and a disk or NIC by a second socketpair to the
// launcher (its control channel: run-time rate limits). Started before the monitor, stopped
// after it. While the VM runs one device may be started again in a fresh jail with the same
// settings and fds (restart(): device_supervisor.h decides when), so this object keeps what a
// start needs: the opened images and backing files, the TAP queues, a copy of the vsock
// listener, /dev/null, the config it was started from (the caller keeps it alive).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"
#include "jailer/device_spec.h"
#include "jailer/image_lock.h"
#include "jailer/jail.h"
#include "jailer/log_relay.h"
#include "jailer/monitor_spec.h"
#include "jailer/net/tap_device.h"
#include "jailer/stdio_relay.h"
#include "jailer/svirt/vm_svirt.h"
#include "jailer/vm_user_files.h"
#include "jailer/vm_vsock.h"

namespace bulwark::jail {

class VmDevices {
 public:
  struct MonitorEnd {
    DeviceKind kind;
    int fd;  // the launcher's copy; passed to the monitor, then closed
  };

  // Steps disks (each image opened by a helper that has become the VM's user, block devices
  // only under the operator's allow_device_files; locked QEMU-compatibly, shared read-only or
  // exclusive read-write, its holders named from label memory in sVirt or from a record under
  // <run_dir>/images under selinux: off (image_lock.h); labelled on its fd through label memory
  // in sVirt, VmSvirt::label_disk), taps (each NIC's TAP made where the host config's "net"
  // says, recorded in the launch record through options.record_created as "tap") and devices
  // (socketpair, jail labelled at creation, jailed process started). On error the devices
  // already started are stopped and their jails removed. The locks are held, and the TAPs'
  // queues kept open, until this object goes. With `logs`, each device's stdout and stderr
  // are its channel of the log relay, named "dev-blk:blk0", "dev-net:net0", "dev-rng",
  // "dev-vsock". A vsock's directory <vsock.dir>/<vm id> and its listening socket are made
  // (step vsock) before its device starts, and removed by stop().
  static Result<VmDevices> start(const LaunchConfig& config, const MonitorLaunchOptions& options,
                                 jailer::VmSvirt& svirt, const std::string& run_dir,
                                 StdioRelay* relay = nullptr, LogRelay* logs = nullptr);

  VmDevices(VmDevices&&) noexcept = default;
  VmDevices& operator=(VmDevices&&) noexcept = default;
  ~VmDevices() { stop(std::chrono::milliseconds(0)); }

  const std::vector<MonitorEnd>& monitor_ends() const { return monitor_ends_; }
  // The monitor holds its ends now.
  void close_monitor_ends();
  // The launcher's end of each disk's and NIC's control channel (device_control.h), by device
  // name ("blk0", "net1"); kept until this object goes.
  std::map<std::string, int> control_fds() const;
  // The TAPs of this VM's NICs, in NIC order.
  const std::vector<Tap>& taps() const { return taps_; }
  // Restarting one device; `index` is its position in monitor_ends() (the monitor's device
  // order), 0 .. device_count() - 1.
  size_t device_count() const { return running_.size(); }
  const std::string& device_name(size_t index) const { return running_.at(index).name; }
  DeviceKind device_kind(size_t index) const { return running_.at(index).launch.kind; }
  // The process's pid; -1 once it ended for good (give_up()).
  pid_t device_pid(size_t index) const;
  // How device `index`'s process ended, once it has (it is reaped then; its jail stays until
  // restart() or give_up()); nullopt while it runs or after give_up().
  std::optional<ProcessEnd> reap_if_ended(size_t index);
  // Tears the ended device's jail down and starts the same device again in a fresh jail, on a
  // new socketpair to the monitor and a new control channel (control_fds() has the new end).
  // Returns the monitor's end of the new socketpair. On error the device is given up.
  Result<UniqueFd> restart(size_t index);
  // The device stays down: its jail is removed (and a vsock device's listener copy closed).
  void give_up(size_t index);

  // SIGTERM to each device still running, SIGKILL after `grace`; logs how each one ended and
  // removes its jail; then closes the TAPs' queues and deletes any TAP still there, and removes
  // the VM's vsock directory. Idempotent.
  void stop(std::chrono::milliseconds grace);

 private:
  VmDevices() = default;
  struct Running {
    std::string name;
    std::unique_ptr<RunningJail> jail;
    DeviceLaunch launch;  // as started: its fds are this object's (images_, taps_, ...)
  };
  // Starts `device` (its launch filled in but for the sockets); returns the monitor's end.
  // `relay` gives it the console relay's stdio (first start only: a restart's stdin is
  // /dev/null).
  Result<UniqueFd> start_device(Running& device, StdioRelay* relay);

  // Declared first, so destroyed last: after stop() ended the device processes.
  std::vector<ImageLock> image_locks_;
  std::vector<VmUserFile> images_;                     // per disk
  std::vector<std::vector<VmUserFile>> backing_files_;  // per disk, nearest first
  UniqueFd null_fd_;
  UniqueFd vsock_listen_;  // the launcher's copy of the vsock listener, for restarts
  const LaunchConfig* config_ = nullptr;
  MonitorLaunchOptions options_;
  jailer::VmSvirt* svirt_ = nullptr;
  LogRelay* logs_ = nullptr;
  std::vector<Tap> taps_;
  std::optional<VmVsockDir> vsock_;
  std::vector<Running> running_;
  std::vector<MonitorEnd> monitor_ends_;
  std::vector<UniqueFd> monitor_end_fds_;
  std::vector<std::pair<std::string, UniqueFd>> control_ends_;
};

}  // namespace bulwark::jail
