#include "jailer/vm_devices.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>

#include "bulwark/common/log.h"
#include "jailer/net_config.h"
#include "jailer/stale_vm.h"
#include "jailer/svirt/socket_create_context.h"
#include "jailer/vm_user_files.h"
#include "monitor/config/message_text.h"

namespace bulwark::jail {

namespace {

// The process name on the device's log records: "dev-blk:blk0", "dev-net:net0", "dev-rng".
std::string device_log_name(const DeviceLaunch& launch) {
  switch (launch.kind) {
    case DeviceKind::kBlk: return "dev-blk:" + launch.name;
    case DeviceKind::kNet: return "dev-net:" + launch.name;
    case DeviceKind::kVsock: return "dev-vsock";
    case DeviceKind::kRng: break;
  }
  return "dev-rng";
}

}  // namespace

Result<VmDevices> VmDevices::start(const LaunchConfig& config, const MonitorLaunchOptions& options,
                                   jailer::VmSvirt& svirt, const std::string& run_dir,
                                   StdioRelay* relay, LogRelay* logs) {
  VmDevices devices;
  if (config.disks.empty() && !config.rng && config.nets.empty() && !config.vsock) return devices;

  UniqueFd null_fd(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null_fd.valid()) return Error::from_errno("jail step devices: open /dev/null", errno);

  // Step disks: every image is opened, locked and labelled before any device process starts.
  // Who holds an image comes from one record: label memory while sVirt labels files (the lock
  // writes no holder record then), the image lock's own records under selinux: off.
  const bool label_memory = svirt.pair().has_value();
  const std::string lock_records =
      run_dir.empty() || label_memory ? std::string() : run_dir + "/images";
  ImageLock::HolderNames holder_names;
  if (label_memory) holder_names = [&svirt](int fd) { return svirt.label_holders(fd); };
  std::vector<VmUserFile> images;
  std::vector<std::vector<VmUserFile>> backing_files;  // per disk, nearest first
  for (size_t i = 0; i < config.disks.size(); ++i) {
    const DiskSettings& disk = config.disks[i];
    const std::string step = "jail step disks: /disks/" + std::to_string(i);
    VmUserFileOptions open_options;
    open_options.access = disk.read_only ? VmFileAccess::kReadOnly : VmFileAccess::kReadWrite;
    open_options.allow_block_device = config.jail.allow_device_files;
    auto image = open_as_vm_user(disk.path, config.jail.uid, config.jail.gid, open_options);
    if (!image.ok()) return image.error().wrap(step);
    const std::string name = config::quoted_text(disk.path, 4096);
    const uint64_t ceiling = config.jail.max_disk_size_mib;
    if (image->size > (ceiling << 20)) {
      return Error(step + "/path: " + name + " is " + std::to_string(image->size) +
                   " bytes, above the operator's ceiling " + std::to_string(ceiling) +
                   " MiB (vm_limits.max_disk_size_mib)");
    }
    // Locked before labelling: an image another program writes keeps its label.
    auto lock = ImageLock::acquire(image->fd.get(), name,
                                   disk.read_only ? ImageLockMode::kReadOnly : ImageLockMode::kReadWrite,
                                   config.jail.id, lock_records, holder_names);
    if (!lock.ok()) return lock.error().wrap(step);
    devices.image_locks_.push_back(std::move(*lock));
    // Label memory refuses an image another running VM uses (naming it) unless all share it
    // read-only from the operator's shared_image_dirs; it is restored when the last user ends.
    auto labelled = svirt.label_disk(image->fd.get(), name, disk.read_only);
    if (!labelled.ok()) return labelled.error().wrap(step + ": label");
    images.push_back(std::move(*image));
    // A qcow2 disk's backing chain: every member read-only, as the VM user, locked shared and
    // labelled like a read-only disk. The device checks what the headers name against it.
    std::vector<VmUserFile> chain;
    for (size_t b = 0; b < disk.backing.size(); ++b) {
      const std::string member_step = step + "/backing/" + std::to_string(b);
      VmUserFileOptions member_options;
      member_options.access = VmFileAccess::kReadOnly;
      auto member = open_as_vm_user(disk.backing[b].path, config.jail.uid, config.jail.gid, member_options);
      if (!member.ok()) return member.error().wrap(member_step);
      const std::string member_name = config::quoted_text(disk.backing[b].path, 4096);
      auto member_lock = ImageLock::acquire(member->fd.get(), member_name, ImageLockMode::kReadOnly, config.jail.id,
                                            lock_records, holder_names);
      if (!member_lock.ok()) return member_lock.error().wrap(member_step);
      devices.image_locks_.push_back(std::move(*member_lock));
      auto member_label = svirt.label_disk(member->fd.get(), member_name, true);
      if (!member_label.ok()) return member_label.error().wrap(member_step + ": label");
      chain.push_back(std::move(*member));
    }
    backing_files.push_back(std::move(chain));
  }

  // Step taps: each NIC's TAP, made where the operator's settings say and recorded before its
  // device starts (a TAP made but not recorded goes with the launcher's fds if it dies here).
  const NetPlacement& placement = config.net_placement;
  for (size_t i = 0; i < config.nets.size(); ++i) {
    TapRequest request;
    request.netns = placement.tap_netns;
    request.name = tap_name(placement, config.jail.uid, i);
    request.uid = config.jail.uid;
    request.gid = config.jail.gid;
    request.queue_pairs = static_cast<uint16_t>(config.nets[i].queues);
    request.mtu = static_cast<uint32_t>(config.nets[i].mtu);
    request.bridge = placement.bridge;
    auto tap = create_tap(request);
    if (!tap.ok()) return tap.error().wrap("jail step taps: /nets/" + std::to_string(i));
    devices.taps_.push_back(std::move(*tap));
    const Tap& made = devices.taps_.back();
    if (options.record_created) {
      BULWARK_TRY(options.record_created("tap", format_recorded_tap({made.ifindex, made.name, made.netns})));
    }
    log::info("VM " + config.jail.id + ": NIC " + config.nets[i].id + " is TAP " + made.name +
              (made.netns.empty() ? std::string() : " in netns " + made.netns) + ", MAC " + config.nets[i].mac);
  }

  std::vector<DeviceLaunch> launches;
  for (size_t i = 0; i < config.disks.size(); ++i) {
    DeviceLaunch launch;
    launch.kind = DeviceKind::kBlk;
    launch.name = "blk" + std::to_string(i);
    launch.disk = &config.disks[i];
    launch.image_bytes = images[i].size;
    launch.image_fd = images[i].fd.get();
    for (const VmUserFile& member : backing_files[i]) launch.backing_fds.push_back(member.fd.get());
    launches.push_back(launch);
  }
  for (size_t i = 0; i < config.nets.size(); ++i) {
    DeviceLaunch launch;
    launch.kind = DeviceKind::kNet;
    launch.name = "net" + std::to_string(i);
    launch.net = &config.nets[i];
    for (const UniqueFd& queue : devices.taps_[i].queues) launch.tap_fds.push_back(queue.get());
    launch.allow_vlan = placement.allow_vlan;
    launch.allow_mac_change = placement.allow_mac_change;
    launches.push_back(launch);
  }
  if (config.rng) {
    DeviceLaunch launch;
    launch.kind = DeviceKind::kRng;
    launch.name = "rng";
    launches.push_back(launch);
  }

  // Step vsock: the VM's directory and listening socket, handed to its device.
  if (config.vsock) {
    auto made = VmVsockDir::create(config, svirt.socket_context());
    if (!made.ok()) return made.error();
    devices.vsock_.emplace(std::move(*made));
    DeviceLaunch launch;
    launch.kind = DeviceKind::kVsock;
    launch.name = "vsock";
    launch.vsock = &*config.vsock;
    launch.vsock_dir = devices.vsock_->dir();
    launch.listen_fd = devices.vsock_->listen_fd();
    launches.push_back(launch);
    log::info("VM " + config.jail.id + ": vsock guest CID " + std::to_string(config.vsock->guest_cid) +
              ", host socket " + devices.vsock_->socket_path());
  }

  // Step devices.
  devices.config_ = &config;
  devices.options_ = options;
  devices.svirt_ = &svirt;
  devices.logs_ = logs;
  devices.null_fd_ = std::move(null_fd);
  for (DeviceLaunch& launch : launches) {
    launch.null_fd = devices.null_fd_.get();
    // The restarts' copy: the device has its own, and alone accepts host clients.
    if (launch.kind == DeviceKind::kVsock) {
      devices.vsock_listen_.reset(::fcntl(launch.listen_fd, F_DUPFD_CLOEXEC, 3));
      if (!devices.vsock_listen_.valid()) return Error::from_errno("jail step device vsock: dup listener", errno);
      launch.listen_fd = devices.vsock_listen_.get();
    }
    devices.running_.push_back({launch.name, nullptr, launch});
    auto monitor_end = devices.start_device(devices.running_.back(), relay);
    if (!monitor_end.ok()) return monitor_end.error();
    if (launch.kind == DeviceKind::kVsock) devices.vsock_->close_listener();
    devices.monitor_ends_.push_back({launch.kind, monitor_end->get()});
    devices.monitor_end_fds_.push_back(std::move(*monitor_end));
  }
  devices.images_ = std::move(images);
  devices.backing_files_ = std::move(backing_files);
  return devices;
}

Result<UniqueFd> VmDevices::start_device(Running& device, StdioRelay* relay) {
  DeviceLaunch& launch = device.launch;
  const LaunchConfig& config = *config_;
  const std::string step = "jail step device " + launch.name + ": ";
  // Both ends carry the monitor's context when SELinux is on, as the policy requires.
  auto pair = jailer::make_labelled_socketpair(svirt_->socket_context());
  if (!pair.ok()) return pair.error().wrap(step + "svirt");
  UniqueFd monitor_end = std::move(pair->first), device_end = std::move(pair->second);
  launch.stdin_fd = launch.stdout_fd = launch.stderr_fd = -1;
  if (relay != nullptr) {
    auto io = relay->add_process(STDERR_FILENO, STDERR_FILENO, false);
    if (!io.ok()) return io.error().wrap(step + "stdio");
    launch.stdin_fd = io->in;
    launch.stdout_fd = io->out;
    launch.stderr_fd = io->err;
  }
  if (logs_ != nullptr) {
    auto channel = logs_->add_process(device_log_name(launch));
    if (!channel.ok()) return channel.error().wrap(step + "logs");
    launch.stdout_fd = *channel;
    launch.stderr_fd = *channel;
  }
  launch.socket_fd = device_end.get();
  // The control channel, at the same level as the vhost-user socket (the policy lets the
  // device use a socket of the monitor's context and no other).
  UniqueFd control_end;
  launch.control_fd = -1;
  if (launch.kind == DeviceKind::kBlk || launch.kind == DeviceKind::kNet) {
    auto control = jailer::make_labelled_socketpair(svirt_->socket_context());
    if (!control.ok()) return control.error().wrap(step + "control channel");
    auto same_name = [&launch](const auto& entry) { return entry.first == launch.name; };
    auto kept = std::find_if(control_ends_.begin(), control_ends_.end(), same_name);
    if (kept == control_ends_.end()) {
      control_ends_.emplace_back(launch.name, std::move(control->first));
    } else {
      kept->second = std::move(control->first);
    }
    control_end = std::move(control->second);
    launch.control_fd = control_end.get();
  }
  // What a dead launcher of this VM id left was swept once, from its record (step sweep).
  JailSpec spec = build_device_spec(config, options_, launch);
  auto context = svirt_->exec_context(device_selinux_domain(launch.kind));
  if (!context.ok()) return context.error().wrap(step + "svirt");
  if (!context->empty()) spec.selinux_exec_context = *context;
  spec.create_label = svirt_->jail_create_label();
  auto jailed = run_jailed(spec);
  if (!jailed.ok()) return jailed.error().wrap("device " + launch.name);
  log::info("VM " + config.jail.id + ": device " + launch.name + " (" + device_type_name(launch.kind) +
            ") running as pid " + std::to_string((*jailed)->pid()));
  device.jail = std::move(*jailed);
  return monitor_end;
}

pid_t VmDevices::device_pid(size_t index) const {
  const Running& device = running_.at(index);
  return device.jail ? device.jail->pid() : -1;
}

std::optional<ProcessEnd> VmDevices::reap_if_ended(size_t index) {
  Running& device = running_.at(index);
  if (!device.jail) return std::nullopt;
  // Looked at without reaping: stop() reaps it and remembers how it ended.
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(device.jail->pid()), &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
      info.si_pid != device.jail->pid()) {
    return std::nullopt;
  }
  return device.jail->stop(std::chrono::milliseconds(0));
}

Result<UniqueFd> VmDevices::restart(size_t index) {
  Running& device = running_.at(index);
  if (device.jail) {
    device.jail->stop(std::chrono::milliseconds(0));
    if (Status s = device.jail->teardown(); !s.ok()) {
      give_up(index);
      return s.error().wrap("device " + device.name + ": teardown of its old jail");
    }
    device.jail.reset();
  }
  auto monitor_end = start_device(device, nullptr);
  if (!monitor_end.ok()) {
    give_up(index);
    return monitor_end.error();
  }
  // The new process's log channel: the launcher's copy goes, so its stream ends with it.
  if (logs_ != nullptr) logs_->close_started();
  return monitor_end;
}

void VmDevices::give_up(size_t index) {
  Running& device = running_.at(index);
  if (device.jail) {
    device.jail->stop(std::chrono::milliseconds(0));
    if (Status s = device.jail->teardown(); !s.ok()) {
      log::error("teardown of device " + device.name + ": " + s.error().message());
    }
    device.jail.reset();
  }
  // Host clients are refused from now on rather than queued for a device that never comes.
  if (device.launch.kind == DeviceKind::kVsock) vsock_listen_.reset();
}

std::map<std::string, int> VmDevices::control_fds() const {
  std::map<std::string, int> fds;
  for (const auto& [name, fd] : control_ends_) fds[name] = fd.get();
  return fds;
}

void VmDevices::close_monitor_ends() {
  monitor_end_fds_.clear();
  for (MonitorEnd& end : monitor_ends_) end.fd = -1;
}

void VmDevices::stop(std::chrono::milliseconds grace) {
  close_monitor_ends();
  for (Running& device : running_) {
    if (!device.jail) continue;
    const ProcessEnd end = device.jail->stop(grace);
    const std::string text = "device " + device.name + " " + describe_process_end(end);
    if (end.exited && end.exit_code == 0) {
      log::info(text);
    } else {
      log::warn(text);
    }
    if (Status s = device.jail->teardown(); !s.ok()) {
      log::error("teardown of device " + device.name + ": " + s.error().message());
    }
    device.jail.reset();
  }
  running_.clear();
  // The device processes held the other ends of the queues: with the launcher's closed, a
  // non-persistent TAP is gone. Deleting by name and ifindex covers one something still holds.
  for (Tap& tap : taps_) {
    tap.queues.clear();
    auto removed = remove_tap(tap.netns, tap.name, tap.ifindex);
    if (!removed.ok()) {
      log::error("teardown of TAP " + tap.name + ": " + removed.error().message());
    } else if (*removed) {
      log::warn("teardown: TAP " + tap.name + " was still held open; deleted");
    }
  }
  taps_.clear();
  // After the device ended: nothing of the VM is in it any more.
  if (vsock_) vsock_->remove();
  vsock_.reset();
}

}  // namespace bulwark::jail
