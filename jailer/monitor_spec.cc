#include "jailer/monitor_spec.h"

#include <sys/stat.h>
#include <unistd.h>

#include "monitor/config/json_config.h"

namespace bulwark::jail {

bool host_kvm_is_emulated() {
  struct stat st{};
  return ::stat("/sys/module/kvm_pvm", &st) == 0;
}

JailSpec build_monitor_spec(const LaunchConfig& config, const MonitorLaunchOptions& options) {
  const JailSettings& settings = config.jail;
  JailSpec spec;
  spec.vm_id = settings.id;
  spec.uid = settings.uid;
  spec.gid = settings.gid;
  spec.base_dir = settings.base_dir;
  spec.cgroup_root = options.cgroup_root;
  spec.cgroup_parent = settings.cgroup_parent;
  spec.netns = settings.netns;
  spec.record_created = options.record_created;

  // Operator-chosen files: bound as they are. Tenant-chosen files (kernel, initrd): opened as
  // the VM user, read-only, noexec.
  spec.exec_host_path = options.monitor_path;
  spec.exec_jail_path = kMonitorJailPath;
  spec.inputs.push_back({options.monitor_path, kMonitorJailPath, false, true});
  for (const std::string& dir : options.library_dirs) {
    struct stat st{};
    if (::stat(dir.c_str(), &st) == 0) spec.inputs.push_back({dir, dir, false, true});
  }
  spec.symlinks = {{"/lib", "usr/lib"}, {"/lib64", "usr/lib64"}};
  spec.inputs.push_back({options.seccomp_policy_dir, kPolicyJailPath, false, false});
  spec.inputs.push_back({config.vm.kernel, kKernelJailPath, true, false});
  if (!config.vm.initrd.empty()) spec.inputs.push_back({config.vm.initrd, kInitrdJailPath, true, false});
  spec.devices.push_back({"/dev/kvm", "/dev/kvm", 0600});

  // The monitor's config with the paths it will see.
  config::VmConfig vm = config.vm;
  vm.kernel = kKernelJailPath;
  if (!vm.initrd.empty()) vm.initrd = kInitrdJailPath;
  vm.seccomp_policy_dir = kPolicyJailPath;
  if (vm.emulated_host_quirks == config::EmulatedHostQuirks::kAuto) {
    vm.emulated_host_quirks =
        options.host_is_emulated ? config::EmulatedHostQuirks::kOn : config::EmulatedHostQuirks::kOff;
  }
  spec.files.push_back({kConfigJailPath, config::to_json(vm)});
  spec.argv = {"bulwark-monitor",
               "--config",
               kConfigJailPath,
               "--seccomp-policy-dir",
               kPolicyJailPath,
               "--emulated-host-quirks",
               std::string(config::emulated_host_quirks_name(vm.emulated_host_quirks))};
  if (options.seccomp_record) spec.argv.insert(spec.argv.end(), {"--seccomp", "record"});

  // Limits: the guest's RAM plus the monitor's own stated overhead; threads count as pids.
  spec.limits.memory_bytes = (config.vm.memory_mib + settings.memory_overhead_mib) << 20;
  spec.limits.pids_max = settings.pids_max;
  spec.limits.cpu_period_us = 100000;
  spec.limits.cpu_quota_us = settings.cpu_quota_percent * 1000;
  spec.limits.cpuset = settings.cpuset;
  spec.rlimits.nofile = 1024;
  spec.rlimits.nproc = settings.pids_max;
  // The only file the monitor sizes is the guest-RAM memfd (ftruncate counts against
  // RLIMIT_FSIZE): exactly the RAM the config asked for; the console is never a file in a jail.
  spec.rlimits.fsize = config.vm.memory_mib << 20;
  spec.rlimits.core = 0;
  spec.rlimits.memlock = 0;

  spec.fds = {{0, 0}, {1, 1}, {2, 2}};  // console in, console out, diagnostics
  return spec;
}

}  // namespace bulwark::jail
