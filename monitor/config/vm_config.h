// VmConfig: everything the monitor needs to know to build one VM, as read from the JSON config
// file (json_config.h) and the command line (command_line.h), plus the rules a valid one obeys.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bulwark/common/result.h"

namespace bulwark::config {

enum class SerialOutput { kStdout, kFile, kNone };
// Workarounds for hosts whose KVM emulates guest code (nested or software-backed KVM).
enum class EmulatedHostQuirks { kAuto, kOn, kOff };
// What a syscall outside the monitor's seccomp policy does: kill the monitor (enforce), be
// logged by the kernel and allowed (log, for finding what a policy lacks), or no filter (off).
enum class SeccompMode { kEnforce, kLog, kOff, kRecord };

inline constexpr uint64_t kMinMemoryMib = 16;
inline constexpr uint64_t kMaxMemoryMib = 1048576;  // 1 TiB
inline constexpr uint32_t kMinVcpus = 1;
inline constexpr uint32_t kMaxVcpus = 64;
inline constexpr size_t kMaxPathBytes = 4095;      // PATH_MAX without the NUL
inline constexpr size_t kMaxCmdlineBytes = 65535;  // boot::kCmdlineMaxSize without the NUL
inline constexpr size_t kMaxCpuTemplateNameBytes = 64;
inline constexpr size_t kMaxDevices = 18;  // 8 disks, 8 NICs, an rng and a vsock (bulwark run's ceilings)
inline constexpr int kMinDeviceSocketFd = 3;        // 0-2 are stdin, stdout and stderr
inline constexpr int kMaxDeviceSocketFd = 1048575;  // below the kernel's fs.nr_open ceiling

// Device types (the "type" field).
inline constexpr std::string_view kVhostUserBlk = "vhost-user-blk";
inline constexpr std::string_view kVhostUserRng = "vhost-user-rng";
inline constexpr std::string_view kVhostUserNet = "vhost-user-net";
inline constexpr std::string_view kVhostUserVsock = "vhost-user-vsock";
inline constexpr std::string_view kDeviceTypeNames =
    "vhost-user-blk, vhost-user-rng, vhost-user-net, vhost-user-vsock";

// One device reached over vhost-user: a device process serving a unix stream socket. Exactly
// one of `socket` (a path the monitor connects to) and `socket_fd` (an already-connected
// socket the monitor inherits, as the launcher passes it) is set. The field order lets the
// launcher write {type, fd}.
struct DeviceConfig {
  DeviceConfig() = default;
  DeviceConfig(std::string device_type, int fd, std::string path = {})
      : type(std::move(device_type)), socket_fd(fd), socket(std::move(path)) {}

  std::string type;     // kVhostUserBlk, kVhostUserRng, kVhostUserNet or kVhostUserVsock
  int socket_fd = -1;   // kMinDeviceSocketFd .. kMaxDeviceSocketFd, or -1 when `socket` is set
  std::string socket;   // path, or "" when `socket_fd` is set

  friend bool operator==(const DeviceConfig&, const DeviceConfig&) = default;
};

struct VmConfig {
  std::string kernel;                 // path, required
  std::string initrd;                 // path, optional ("" = none)
  std::string cmdline = "console=ttyS0 reboot=k panic=-1";
  uint64_t memory_mib = 256;          // kMinMemoryMib .. kMaxMemoryMib
  uint32_t vcpus = 1;                 // kMinVcpus .. kMaxVcpus
  std::string cpu_template = "default";  // the monitor checks the name against its template table
  SerialOutput serial = SerialOutput::kStdout;
  std::string serial_path;            // required iff serial == kFile
  bool serial_input = true;           // read guest console input from stdin
  EmulatedHostQuirks emulated_host_quirks = EmulatedHostQuirks::kAuto;
  SeccompMode seccomp = SeccompMode::kEnforce;
  std::string seccomp_policy_dir;     // "" = the directory the monitor was built with
  std::vector<DeviceConfig> devices;  // at most kMaxDevices, PCI slots in this order
  // The launcher's run-time control channel: an inherited SOCK_SEQPACKET socket carrying
  // api/command/command.h messages (pause/resume, Ctrl-Alt-Del, metrics). -1 = none. Operator
  // only: the launcher refuses it in a tenant's file and sets it itself.
  int control_fd = -1;                // kMinDeviceSocketFd .. kMaxDeviceSocketFd, or -1
  // The VM's TPM: an inherited stream socket connected to its swtpm's data channel; the guest
  // sees a CRB TPM (monitor/tpm/crb_device.h) and the ACPI tables for it. -1 = no TPM. Operator
  // only, like control_fd: the launcher connects it after its measured launch.
  int tpm_fd = -1;                    // kMinDeviceSocketFd .. kMaxDeviceSocketFd, or -1

  friend bool operator==(const VmConfig&, const VmConfig&) = default;
};

// Names used in the JSON file and on the command line.
std::string_view serial_output_name(SerialOutput output);
std::optional<SerialOutput> serial_output_from_name(std::string_view name);
inline constexpr std::string_view kSerialOutputNames = "stdout, file, none";
std::string_view emulated_host_quirks_name(EmulatedHostQuirks quirks);
std::optional<EmulatedHostQuirks> emulated_host_quirks_from_name(std::string_view name);
inline constexpr std::string_view kEmulatedHostQuirksNames = "auto, on, off";
std::string_view seccomp_mode_name(SeccompMode mode);
std::optional<SeccompMode> seccomp_mode_from_name(std::string_view name);
inline constexpr std::string_view kSeccompModeNames = "enforce, log, off, record";

// Per-field rules shared by both parsers. Messages name no field: callers prefix the JSON path
// or the flag ("/vcpus: ...", "--vcpus: ...").
Status check_required_path(std::string_view path);  // kernel, serial file
Status check_optional_path(std::string_view path);  // initrd: "" means none
Status check_cmdline(std::string_view cmdline);
Status check_cpu_template_name(std::string_view name);
Status check_device_type(std::string_view type);
Status check_device(const DeviceConfig& device);  // type, and exactly one of socket/socket_fd
// Count, each device, and no socket fd used twice.
Status check_devices(const std::vector<DeviceConfig>& devices);
// -1, or an fd in range that no device uses as its socket.
Status check_control_fd(int control_fd, const std::vector<DeviceConfig>& devices);
// -1, or an fd in range that is neither a device's socket nor the control channel.
Status check_tpm_fd(int tpm_fd, int control_fd, const std::vector<DeviceConfig>& devices);
// "expected an integer from 1 to 64"
std::string expected_integer_text(uint64_t min, uint64_t max);

// The whole-config check (every field rule plus serial kind/path consistency and a kernel).
// Both parsers end with it; code that builds a VmConfig by hand should call it too.
Status validate_vm_config(const VmConfig& config);

}  // namespace bulwark::config
