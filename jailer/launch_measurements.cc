#include "jailer/launch_measurements.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "attestation/launch_events.h"
#include "bulwark/common/unique_fd.h"
#include "jailer/device_spec.h"
#include "jailer/jail_profile.h"

namespace bulwark::jail {

namespace {

// A disk image's size as the launcher's open of it found it (vm_user_files.cc): a block
// device's by BLKGETSIZE64, a file's by its length.
Result<uint64_t> image_size(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd.valid()) return Error::from_errno("measure the disk " + path, errno);
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0) return Error::from_errno("measure the disk " + path, errno);
  if (S_ISBLK(st.st_mode)) {
    uint64_t bytes = 0;
    if (::ioctl(fd.get(), BLKGETSIZE64, &bytes) != 0) return Error::from_errno("measure the disk " + path, errno);
    return bytes;
  }
  return static_cast<uint64_t>(st.st_size);
}

std::string selinux_text(const std::optional<std::string>& context) {
  return context && !context->empty() ? *context : std::string("off");
}

}  // namespace

std::string jail_profile_text(const JailSpec& spec) {
  std::string text = "bulwark-jail-profile 1\n";
  auto line = [&text](const std::string& key, const std::string& value) { text += key + " " + value + "\n"; };
  line("namespaces", std::to_string(jail_namespace_flags(spec)));
  line("netns", spec.netns.empty() ? "new-empty" : "named");
  line("securebits", std::to_string(kJailSecurebits));
  line("no_new_privs", std::to_string(kJailNoNewPrivs));
  line("dumpable", std::to_string(kJailDumpable));
  line("capabilities", "none");
  line("exec", spec.exec_jail_path);
  for (const std::string& arg : spec.argv) line("arg", arg);
  for (const ReadOnlyInput& input : spec.inputs) {
    line("read-only", input.jail_path + (input.allow_exec ? " exec" : " noexec") +
                          (input.check_vm_access ? " tenant" : " operator"));
  }
  for (const WritableDir& dir : spec.writable_dirs) line("writable", dir.jail_path + " noexec nosuid nodev");
  for (const DeviceNode& node : spec.devices) line("device", node.jail_path + " " + std::to_string(node.mode));
  for (const JailSymlink& link : spec.symlinks) line("symlink", link.jail_path + " -> " + link.target);
  for (const PassedFd& fd : spec.fds) line("fd", std::to_string(fd.target));
  line("rlimit.nofile", std::to_string(spec.rlimits.nofile));
  line("rlimit.fsize", std::to_string(spec.rlimits.fsize));
  line("rlimit.nproc", std::to_string(spec.rlimits.nproc));
  line("rlimit.core", std::to_string(spec.rlimits.core));
  line("rlimit.memlock", std::to_string(spec.rlimits.memlock));
  line("cgroup.memory_bytes", std::to_string(spec.limits.memory_bytes));
  line("cgroup.pids_max", std::to_string(spec.limits.pids_max));
  line("cgroup.cpu_quota_us", std::to_string(spec.limits.cpu_quota_us));
  line("cgroup.cpu_period_us", std::to_string(spec.limits.cpu_period_us));
  line("cgroup.cpuset", spec.limits.cpuset);
  line("seccomp_by_jail", spec.seccomp_program.empty() ? "no (the process installs its own)" : "yes");
  return text;
}

Result<std::string> canonical_vm_config(const JailSpec& monitor) {
  for (const GeneratedFile& file : monitor.files) {
    if (file.jail_path != kConfigJailPath) continue;
    const nlohmann::json doc = nlohmann::json::parse(file.contents, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return Error("measure the VM config: the monitor's is not a JSON object");
    // nlohmann's object is a std::map: keys sorted; no indent: no whitespace.
    return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return Error("measure the VM config: the monitor's jail has no " + std::string(kConfigJailPath));
}

Result<std::vector<std::pair<std::string, JailSpec>>> device_specs_for_measurement(
    const LaunchConfig& config, const MonitorLaunchOptions& options) {
  // The same DeviceLaunch list as VmDevices::start, fds as placeholders: a profile names the
  // targets alone, and those follow from the counts (queues, backing chain, control channel).
  constexpr int kPlaceholderFd = 0;
  std::vector<std::pair<std::string, JailSpec>> specs;
  for (size_t i = 0; i < config.disks.size(); ++i) {
    DeviceLaunch launch;
    launch.kind = DeviceKind::kBlk;
    launch.name = "blk" + std::to_string(i);
    launch.disk = &config.disks[i];
    auto size = image_size(config.disks[i].path);
    if (!size.ok()) return size.error();
    launch.image_bytes = *size;
    launch.image_fd = kPlaceholderFd;
    launch.backing_fds.assign(config.disks[i].backing.size(), kPlaceholderFd);
    launch.control_fd = kPlaceholderFd;
    specs.emplace_back("dev-blk:" + launch.name, build_device_spec(config, options, launch));
  }
  for (size_t i = 0; i < config.nets.size(); ++i) {
    DeviceLaunch launch;
    launch.kind = DeviceKind::kNet;
    launch.name = "net" + std::to_string(i);
    launch.net = &config.nets[i];
    launch.tap_fds.assign(static_cast<size_t>(config.nets[i].queues), kPlaceholderFd);
    launch.allow_vlan = config.net_placement.allow_vlan;
    launch.allow_mac_change = config.net_placement.allow_mac_change;
    launch.control_fd = kPlaceholderFd;
    specs.emplace_back("dev-net:" + launch.name, build_device_spec(config, options, launch));
  }
  if (config.rng) {
    DeviceLaunch launch;
    launch.kind = DeviceKind::kRng;
    launch.name = "rng";
    specs.emplace_back("dev-rng", build_device_spec(config, options, launch));
  }
  if (config.vsock) {
    DeviceLaunch launch;
    launch.kind = DeviceKind::kVsock;
    launch.name = "vsock";
    launch.vsock = &*config.vsock;
    launch.listen_fd = kPlaceholderFd;
    specs.emplace_back("dev-vsock", build_device_spec(config, options, launch));
  }
  return specs;
}

Result<std::vector<LaunchTextItem>> launch_text_items(const JailSpec& monitor, const JailSpec& swtpm_spec,
                                                      const LaunchConfig& config, const MonitorLaunchOptions& options,
                                                      const jailer::VmSvirt& svirt) {
  namespace at = attestation;
  std::vector<LaunchTextItem> items;
  auto vm_config = canonical_vm_config(monitor);
  if (!vm_config.ok()) return vm_config.error();
  items.push_back({at::kPcrBootInputs, std::string(at::kVmConfigItem), std::move(*vm_config)});
  auto devices = device_specs_for_measurement(config, options);
  if (!devices.ok()) return devices.error();
  items.push_back({at::kPcrIsolation, "jail profile monitor", jail_profile_text(monitor)});
  for (const auto& [name, spec] : *devices) items.push_back({at::kPcrIsolation, "jail profile " + name, jail_profile_text(spec)});
  items.push_back({at::kPcrIsolation, "jail profile swtpm", jail_profile_text(swtpm_spec)});
  items.push_back({at::kPcrIsolation, "selinux monitor", selinux_text(monitor.selinux_exec_context)});
  for (const auto& [name, spec] : *devices) {
    // Computed as VmDevices::start computes it for the device it starts.
    const DeviceKind kind = name.starts_with("dev-blk") ? DeviceKind::kBlk
                            : name.starts_with("dev-net") ? DeviceKind::kNet
                            : name == "dev-vsock"         ? DeviceKind::kVsock
                                                          : DeviceKind::kRng;
    auto context = svirt.exec_context(device_selinux_domain(kind));
    if (!context.ok()) return context.error().wrap("measure selinux " + name);
    items.push_back({at::kPcrIsolation, "selinux " + name, selinux_text(*context)});
  }
  return items;
}

}  // namespace bulwark::jail
