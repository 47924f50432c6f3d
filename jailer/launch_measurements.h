// The text items of a measured launch (issue 16) besides its files: what the launcher measures
// about the VM config and the isolation each process of the VM runs under. Inputs: the
// operator's host config and launcher options, the tenant's VM config, the launcher's own
// JailSpecs; the texts are measured (vm_tpm.cc) and listed with their content in the launch
// report (attestation/launch_report.h), so a verifier can read what a digest stands for.
//
//   PCR 9   vm-config                   the VM config the monitor receives (/vm.json in its jail),
//                                       canonical: keys sorted, no whitespace (nlohmann dump)
//   PCR 15  jail profile <process>      jail_profile_text() of the monitor, each device process
//                                       ("dev-blk:blk0", "dev-net:net0", "dev-rng", "dev-vsock")
//                                       and swtpm
//           selinux <process>           the exec context of the monitor and each device process,
//                                       with the VM's MCS pair, or "off" under selinux: off
//
// A jail profile leaves out what differs per launch by design (the VM id, the uid and gid the
// allocator gave, the host numbers of passed fds), so the same VM config on the same host
// measures the same on every launch. The SELinux context carries the per-launch MCS pair: the
// verifier checks it by rule (attestation/report_verify.h), a reference does not pin it.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "bulwark/common/result.h"
#include "jailer/jail_config.h"
#include "jailer/jail_spec.h"
#include "jailer/monitor_spec.h"
#include "jailer/svirt/vm_svirt.h"

namespace bulwark::jail {

struct LaunchTextItem {
  uint32_t pcr = 0;
  std::string name;
  std::string text;
};

// The isolation `spec` asks for and the jail applies whatever the spec (jail_profile.h), as text:
// "bulwark-jail-profile 1" then one "key value" line each (namespaces, securebits, capabilities
// none, exec, argv, mounts, fds' targets, rlimits, cgroup limits).
std::string jail_profile_text(const JailSpec& spec);

// The monitor's /vm.json, canonical.
Result<std::string> canonical_vm_config(const JailSpec& monitor);

// Each device process's JailSpec as build_device_spec makes it for this launch, by its name
// ("dev-blk:blk0"), in the order the launcher starts them. Rebuilt from the config: the fds are
// placeholders (a profile names only their targets), each disk image's size is read again (its
// RLIMIT_FSIZE; the launcher holds the image's lock, so it has not changed).
Result<std::vector<std::pair<std::string, JailSpec>>> device_specs_for_measurement(
    const LaunchConfig& config, const MonitorLaunchOptions& options);

// The text items above, in measurement order: vm-config; the jail profiles of the monitor, each
// device and swtpm (`swtpm_spec`); the SELinux contexts of the monitor and each device.
Result<std::vector<LaunchTextItem>> launch_text_items(const JailSpec& monitor, const JailSpec& swtpm_spec,
                                                      const LaunchConfig& config, const MonitorLaunchOptions& options,
                                                      const jailer::VmSvirt& svirt);

}  // namespace bulwark::jail
