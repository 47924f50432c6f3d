#include "jailer/device_spec.h"

#include <sys/stat.h>

namespace bulwark::jail {

namespace {

constexpr uint64_t kDeviceMemoryOverheadMib = 64;
constexpr uint64_t kDevicePidsMax = 8;

}  // namespace

const char* device_selinux_domain(DeviceKind kind) {
  return kind == DeviceKind::kBlk ? "bulwark_dev_blk_t" : "bulwark_dev_rng_t";
}

const char* device_type_name(DeviceKind kind) {
  return kind == DeviceKind::kBlk ? "vhost-user-blk" : "vhost-user-rng";
}

JailSpec build_device_spec(const LaunchConfig& config, const MonitorLaunchOptions& options,
                           const DeviceLaunch& device) {
  const JailSettings& settings = config.jail;
  const bool blk = device.kind == DeviceKind::kBlk;
  JailSpec spec;
  spec.vm_id = settings.id + "." + device.name;
  spec.uid = settings.uid;
  spec.gid = settings.gid;
  spec.base_dir = settings.base_dir;
  spec.cgroup_root = options.cgroup_root;
  spec.cgroup_parent = settings.cgroup_parent;
  spec.netns = "";  // always a new, empty network namespace: devices have no network
  spec.record_created = options.record_created;

  const std::string& binary = blk ? options.dev_blk_path : options.dev_rng_path;
  spec.exec_host_path = binary;
  spec.exec_jail_path = blk ? "/bulwark-dev-blk" : "/bulwark-dev-rng";
  spec.inputs.push_back({binary, spec.exec_jail_path, false, true});
  for (const std::string& dir : options.library_dirs) {
    struct stat st{};
    if (::stat(dir.c_str(), &st) == 0) spec.inputs.push_back({dir, dir, false, true});
  }
  spec.symlinks = {{"/lib", "usr/lib"}, {"/lib64", "usr/lib64"}};
  spec.inputs.push_back({options.seccomp_policy_dir, kPolicyJailPath, false, false});

  spec.argv = {blk ? "bulwark-dev-blk" : "bulwark-dev-rng", "--socket-fd",
               std::to_string(kDeviceSocketFd)};
  if (blk) {
    spec.argv.insert(spec.argv.end(), {"--image-fd", std::to_string(kDeviceImageFd), "--queues",
                                       std::to_string(device.disk->queues)});
    if (device.disk->read_only) spec.argv.push_back("--read-only");
    if (!device.disk->serial.empty()) spec.argv.insert(spec.argv.end(), {"--serial", device.disk->serial});
  }
  spec.argv.insert(spec.argv.end(), {"--seccomp", options.seccomp_record ? "record" : "enforce",
                                     "--seccomp-policy-dir", kPolicyJailPath});

  // Guest RAM is shared with the device: pages it touches first are charged to its cgroup.
  spec.limits.memory_bytes = (config.vm.memory_mib + kDeviceMemoryOverheadMib) << 20;
  spec.limits.pids_max = kDevicePidsMax;
  spec.limits.cpu_period_us = 100000;
  spec.limits.cpu_quota_us = settings.cpu_quota_percent * 1000;
  spec.limits.cpuset = settings.cpuset;
  spec.rlimits.nofile = 64;
  spec.rlimits.nproc = kDevicePidsMax;
  // A disk can never grow: a write past its end fails in the kernel even if the device erred.
  spec.rlimits.fsize = blk ? device.image_bytes : 0;
  spec.rlimits.core = 0;
  spec.rlimits.memlock = 0;

  // stdin from /dev/null, stdout and stderr both to the launcher's stderr (the console is the
  // monitor's stdout alone), directly or through the launcher's relay.
  const bool relayed = device.stdin_fd >= 0;
  spec.fds = {{relayed ? device.stdin_fd : device.null_fd, 0},
              {relayed ? device.stdout_fd : 2, 1},
              {relayed ? device.stderr_fd : 2, 2},
              {device.socket_fd, kDeviceSocketFd}};
  if (blk) spec.fds.push_back({device.image_fd, kDeviceImageFd});
  return spec;
}

}  // namespace bulwark::jail
