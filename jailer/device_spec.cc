#include "jailer/device_spec.h"

#include <sys/stat.h>

#include <algorithm>

namespace bulwark::jail {

namespace {

constexpr uint64_t kDeviceMemoryOverheadMib = 64;
constexpr uint64_t kDevicePidsMax = 8;
// The largest in-flight record a device may be asked for (see make_device_spec), rounded up.
constexpr uint64_t kInflightRecordBytesMax = uint64_t{1} << 20;

// "SIZE:REFILL_MS[:BURST]", bulwark-dev-net's bucket argument.
std::string bucket_argument(const RateBucket& bucket) {
  std::string text = std::to_string(bucket.size) + ":" + std::to_string(bucket.refill_time_ms);
  if (bucket.one_time_burst != 0) text += ":" + std::to_string(bucket.one_time_burst);
  return text;
}

void add_net_arguments(const DeviceLaunch& device, std::vector<std::string>& argv) {
  const NetSettings& net = *device.net;
  for (size_t i = 0; i < device.tap_fds.size(); ++i) {
    argv.insert(argv.end(), {"--tap-fd", std::to_string(kDeviceFirstTapFd + static_cast<int>(i))});
  }
  argv.insert(argv.end(), {"--mac", net.mac, "--mtu", std::to_string(net.mtu), "--queue-pairs",
                           std::to_string(net.queues)});
  for (const std::string& prefix : net.allowed_ips) argv.insert(argv.end(), {"--allowed-ip", prefix});
  if (device.allow_vlan) argv.push_back("--allow-vlan");
  if (device.allow_mac_change) argv.push_back("--allow-mac-change");
  const NetRateLimiter& limits = net.rate_limiter;
  const std::pair<const char*, const RateBucket*> buckets[] = {
      {"--rx-bytes", &limits.rx_bytes},
      {"--rx-packets", &limits.rx_packets},
      {"--tx-bytes", &limits.tx_bytes},
      {"--tx-packets", &limits.tx_packets}};
  for (const auto& [flag, bucket] : buckets) {
    if (bucket->limited()) argv.insert(argv.end(), {flag, bucket_argument(*bucket)});
  }
}

// The tenant's CID and the name the jail sees; the listener, the connection ceiling and the
// bytes held per connection are the launcher's and the operator's.
void add_vsock_arguments(const LaunchConfig& config, const DeviceLaunch& device, std::vector<std::string>& argv) {
  argv.insert(argv.end(), {"--listen-fd", std::to_string(kDeviceListenFd), "--uds-path",
                           std::string(kVsockJailDir) + "/" + device.vsock->uds_path, "--guest-cid",
                           std::to_string(device.vsock->guest_cid), "--max-connections",
                           std::to_string(config.vsock_host.max_connections), "--buf-alloc",
                           std::to_string(config.vsock_host.buf_alloc_bytes)});
}

}  // namespace

const char* device_selinux_domain(DeviceKind kind) {
  switch (kind) {
    case DeviceKind::kBlk: return "bulwark_dev_blk_t";
    case DeviceKind::kNet: return "bulwark_dev_net_t";
    case DeviceKind::kVsock: return "bulwark_dev_vsock_t";
    case DeviceKind::kRng: break;
  }
  return "bulwark_dev_rng_t";
}

const char* device_type_name(DeviceKind kind) {
  switch (kind) {
    case DeviceKind::kBlk: return "vhost-user-blk";
    case DeviceKind::kNet: return "vhost-user-net";
    case DeviceKind::kVsock: return "vhost-user-vsock";
    case DeviceKind::kRng: break;
  }
  return "vhost-user-rng";
}

namespace {

const std::string& device_binary(const MonitorLaunchOptions& options, DeviceKind kind) {
  switch (kind) {
    case DeviceKind::kBlk: return options.dev_blk_path;
    case DeviceKind::kNet: return options.dev_net_path;
    case DeviceKind::kVsock: return options.dev_vsock_path;
    case DeviceKind::kRng: break;
  }
  return options.dev_rng_path;
}

const char* device_program(DeviceKind kind) {
  switch (kind) {
    case DeviceKind::kBlk: return "bulwark-dev-blk";
    case DeviceKind::kNet: return "bulwark-dev-net";
    case DeviceKind::kVsock: return "bulwark-dev-vsock";
    case DeviceKind::kRng: break;
  }
  return "bulwark-dev-rng";
}

}  // namespace

JailSpec build_helper_process_spec(const JailSettings& settings, const MonitorLaunchOptions& options,
                                   const std::string& name, const std::string& binary, const std::string& program) {
  JailSpec spec;
  spec.vm_id = settings.id + "." + name;
  spec.uid = settings.uid;
  spec.gid = settings.gid;
  spec.base_dir = settings.base_dir;
  spec.cgroup_root = options.cgroup_root;
  spec.cgroup_parent = settings.cgroup_parent;
  spec.netns = "";  // always a new, empty network namespace: no network
  spec.record_created = options.record_created;
  spec.exec_host_path = binary;
  spec.exec_jail_path = "/" + program;
  spec.inputs.push_back({binary, spec.exec_jail_path, false, true});
  for (const std::string& dir : options.library_dirs) {
    struct stat st{};
    if (::stat(dir.c_str(), &st) == 0) spec.inputs.push_back({dir, dir, false, true});
  }
  spec.symlinks = {{"/lib", "usr/lib"}, {"/lib64", "usr/lib64"}};
  spec.inputs.push_back({options.seccomp_policy_dir, kPolicyJailPath, false, false});
  spec.limits.cpu_period_us = 100000;
  spec.limits.cpu_quota_us = settings.cpu_quota_percent * 1000;
  spec.limits.cpuset = settings.cpuset;
  spec.rlimits.core = 0;
  spec.rlimits.memlock = 0;
  return spec;
}

JailSpec build_device_spec(const LaunchConfig& config, const MonitorLaunchOptions& options,
                           const DeviceLaunch& device) {
  const JailSettings& settings = config.jail;
  const bool blk = device.kind == DeviceKind::kBlk;
  const std::string program = device_program(device.kind);
  JailSpec spec = build_helper_process_spec(settings, options, device.name, device_binary(options, device.kind), program);

  spec.argv = {program, "--socket-fd", std::to_string(kDeviceSocketFd)};
  if (blk) {
    spec.argv.insert(spec.argv.end(), {"--image-fd", std::to_string(kDeviceImageFd), "--queues",
                                       std::to_string(device.disk->queues)});
    if (device.disk->read_only) spec.argv.push_back("--read-only");
    // The operator's (host config blk_poll_us): always passed, so the device's own default
    // never silently differs from what `bulwark policy show` says.
    spec.argv.insert(spec.argv.end(), {"--poll-us", std::to_string(settings.blk_poll_us)});
    if (!device.disk->serial.empty()) spec.argv.insert(spec.argv.end(), {"--serial", device.disk->serial});
    if (device.disk->rate_bytes.limited()) spec.argv.insert(spec.argv.end(), {"--rate-bytes", bucket_argument(device.disk->rate_bytes)});
    if (device.disk->rate_ops.limited()) spec.argv.insert(spec.argv.end(), {"--rate-ops", bucket_argument(device.disk->rate_ops)});
    if (device.disk->format == DiskFormat::kQcow2) {
      spec.argv.insert(spec.argv.end(), {"--format", "qcow2", "--image-name", device.disk->path,
                                         "--max-virtual-size", std::to_string(settings.max_disk_size_mib << 20)});
      for (size_t i = 0; i < device.backing_fds.size() && i < device.disk->backing.size(); ++i) {
        const BackingImage& member = device.disk->backing[i];
        spec.argv.insert(spec.argv.end(), {"--backing-fd", std::to_string(kDeviceFirstBackingFd + static_cast<int>(i)),
                                           "--backing-format", member.format == DiskFormat::kQcow2 ? "qcow2" : "raw",
                                           "--backing-name", member.path});
      }
    }
  }
  if (device.kind == DeviceKind::kNet) add_net_arguments(device, spec.argv);
  const bool vsock = device.kind == DeviceKind::kVsock && device.vsock != nullptr;
  if (vsock) {
    add_vsock_arguments(config, device, spec.argv);
    // The operator's directory, not the tenant's: read-only, so the device can connect to the
    // sockets host services made there and create or remove nothing.
    spec.inputs.push_back({device.vsock_dir, kVsockJailDir, false, false});
  }
  spec.argv.insert(spec.argv.end(), {"--seccomp", options.seccomp_record ? "record" : "enforce",
                                     "--seccomp-policy-dir", kPolicyJailPath});

  // Guest RAM is shared with the device: pages it touches first are charged to its cgroup.
  spec.limits.memory_bytes = (config.vm.memory_mib + kDeviceMemoryOverheadMib) << 20;
  // A vsock device holds up to buf_alloc bytes per connection for slow host peers.
  if (vsock) spec.limits.memory_bytes += config.vsock_host.max_connections * config.vsock_host.buf_alloc_bytes;
  spec.limits.pids_max = kDevicePidsMax;
  // A NIC: its TAP queues and a kick, call and error eventfd for each of up to 17 virtqueues.
  spec.rlimits.nofile = device.kind == DeviceKind::kNet ? 128 : 64;
  // A vsock device: one host socket per connection on top of its queues' eventfds.
  if (vsock) spec.rlimits.nofile = 64 + config.vsock_host.max_connections;
  spec.rlimits.nproc = kDevicePidsMax;
  // A raw disk can never grow: a write past its end fails in the kernel even if the device erred.
  // A qcow2 image grows as clusters are allocated, at most to the operator's ceiling on the
  // virtual size plus the most metadata that needs (an eighth more covers every cluster size and
  // refcount width) and the file it already is.
  spec.rlimits.fsize = blk ? device.image_bytes : 0;
  if (blk && device.disk->format == DiskFormat::kQcow2 && !device.disk->read_only) {
    const uint64_t ceiling = settings.max_disk_size_mib << 20;
    spec.rlimits.fsize = device.image_bytes + ceiling + ceiling / 8 + (uint64_t{64} << 20);
  }
  // Every device sizes its in-flight record (a memfd, which RLIMIT_FSIZE also bounds) when the
  // monitor asks for it: at most 17 queues of 1,024 entries, about 280 KiB. A raw image smaller
  // than that bound could be grown to it by a compromised device, never past it.
  spec.rlimits.fsize = std::max(spec.rlimits.fsize, kInflightRecordBytesMax);

  // stdin from /dev/null, stdout and stderr both to the launcher's stderr (the console is the
  // monitor's stdout alone), directly or through the launcher's relays.
  spec.fds = {{device.stdin_fd >= 0 ? device.stdin_fd : device.null_fd, 0},
              {device.stdout_fd >= 0 ? device.stdout_fd : 2, 1},
              {device.stderr_fd >= 0 ? device.stderr_fd : 2, 2},
              {device.socket_fd, kDeviceSocketFd}};
  if (blk) spec.fds.push_back({device.image_fd, kDeviceImageFd});
  if (vsock) spec.fds.push_back({device.listen_fd, kDeviceListenFd});
  for (size_t i = 0; i < device.backing_fds.size(); ++i) {
    spec.fds.push_back({device.backing_fds[i], kDeviceFirstBackingFd + static_cast<int>(i)});
  }
  for (size_t i = 0; i < device.tap_fds.size(); ++i) {
    spec.fds.push_back({device.tap_fds[i], kDeviceFirstTapFd + static_cast<int>(i)});
  }
  if (device.control_fd >= 0 && (blk || device.kind == DeviceKind::kNet)) {
    int next = 0;
    for (const PassedFd& passed : spec.fds) next = std::max(next, passed.target + 1);
    spec.fds.push_back({device.control_fd, next});
    // Before the options that end the command line, so it reads like the others.
    const auto seccomp = std::find(spec.argv.begin(), spec.argv.end(), "--seccomp");
    spec.argv.insert(seccomp, {"--control-fd", std::to_string(next)});
  }
  return spec;
}

}  // namespace bulwark::jail
