#include "monitor/config/vm_config.h"

#include <array>
#include <utility>

#include "monitor/boot/guest_layout.h"

namespace bulwark::config {

static_assert(kMaxCmdlineBytes == boot::kCmdlineMaxSize - 1,
              "the command line must fit the area the boot code reserves for it");

namespace {

constexpr std::array<std::pair<std::string_view, SerialOutput>, 3> kSerialOutputs{{
    {"stdout", SerialOutput::kStdout},
    {"file", SerialOutput::kFile},
    {"none", SerialOutput::kNone},
}};

constexpr std::array<std::pair<std::string_view, EmulatedHostQuirks>, 3> kQuirkModes{{
    {"auto", EmulatedHostQuirks::kAuto},
    {"on", EmulatedHostQuirks::kOn},
    {"off", EmulatedHostQuirks::kOff},
}};

constexpr std::array<std::pair<std::string_view, SeccompMode>, 4> kSeccompModes{{
    {"enforce", SeccompMode::kEnforce},
    {"log", SeccompMode::kLog},
    {"off", SeccompMode::kOff},
    {"record", SeccompMode::kRecord},
}};

template <typename Enum, size_t N>
std::string_view name_of(const std::array<std::pair<std::string_view, Enum>, N>& table, Enum v) {
  for (const auto& [name, value] : table) {
    if (value == v) return name;
  }
  return "?";
}

template <typename Enum, size_t N>
std::optional<Enum> value_of(const std::array<std::pair<std::string_view, Enum>, N>& table,
                             std::string_view n) {
  for (const auto& [name, value] : table) {
    if (name == n) return value;
  }
  return std::nullopt;
}

// A NUL would silently cut the string short when it reaches open() or the guest.
Status check_no_nul(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) return Error("must not contain a NUL character");
  return ok_status();
}

}  // namespace

std::string_view serial_output_name(SerialOutput output) { return name_of(kSerialOutputs, output); }
std::optional<SerialOutput> serial_output_from_name(std::string_view name) {
  return value_of(kSerialOutputs, name);
}
std::string_view emulated_host_quirks_name(EmulatedHostQuirks quirks) {
  return name_of(kQuirkModes, quirks);
}
std::optional<EmulatedHostQuirks> emulated_host_quirks_from_name(std::string_view name) {
  return value_of(kQuirkModes, name);
}

std::string_view seccomp_mode_name(SeccompMode mode) { return name_of(kSeccompModes, mode); }
std::optional<SeccompMode> seccomp_mode_from_name(std::string_view name) { return value_of(kSeccompModes, name); }

Status check_required_path(std::string_view path) {
  if (path.empty()) return Error("must not be empty");
  return check_optional_path(path);
}

Status check_optional_path(std::string_view path) {
  if (path.size() > kMaxPathBytes) {
    return Error("path is longer than " + std::to_string(kMaxPathBytes) + " bytes");
  }
  return check_no_nul(path);
}

Status check_cmdline(std::string_view cmdline) {
  if (cmdline.size() > kMaxCmdlineBytes) {
    return Error("longer than " + std::to_string(kMaxCmdlineBytes) + " bytes");
  }
  return check_no_nul(cmdline);
}

Status check_cpu_template_name(std::string_view name) {
  // Names are identifiers from the monitor's own table; anything else is refused here so the
  // "unknown template" message later can echo the name safely.
  bool well_formed = !name.empty() && name.size() <= kMaxCpuTemplateNameBytes;
  for (char c : name) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    well_formed = well_formed && allowed;
  }
  if (!well_formed) {
    return Error("expected a name of 1 to " + std::to_string(kMaxCpuTemplateNameBytes) +
                 " characters from A-Z a-z 0-9 . _ -");
  }
  return ok_status();
}

Status check_device_type(std::string_view type) {
  if (type == kVhostUserBlk || type == kVhostUserRng || type == kVhostUserNet || type == kVhostUserVsock) {
    return ok_status();
  }
  return Error("unknown device type (expected one of: " + std::string(kDeviceTypeNames) + ")");
}

Status check_device(const DeviceConfig& device) {
  if (Status s = check_device_type(device.type); !s.ok()) return s.error().wrap("type");
  const bool has_fd = device.socket_fd != -1;
  const bool has_path = !device.socket.empty();
  if (has_fd == has_path) return Error("give exactly one of socket and socket_fd");
  if (has_fd && (device.socket_fd < kMinDeviceSocketFd || device.socket_fd > kMaxDeviceSocketFd)) {
    return Error("socket_fd: " + expected_integer_text(kMinDeviceSocketFd, kMaxDeviceSocketFd) +
                 ", got " + std::to_string(device.socket_fd));
  }
  if (has_path) {
    if (Status s = check_required_path(device.socket); !s.ok()) return s.error().wrap("socket");
  }
  return ok_status();
}

Status check_devices(const std::vector<DeviceConfig>& devices) {
  if (devices.size() > kMaxDevices) {
    return Error("at most " + std::to_string(kMaxDevices) + " devices, got " +
                 std::to_string(devices.size()));
  }
  for (size_t i = 0; i < devices.size(); ++i) {
    const std::string where = std::to_string(i);
    if (Status s = check_device(devices[i]); !s.ok()) return s.error().wrap(where);
    for (size_t j = 0; j < i; ++j) {
      if (devices[i].socket_fd != -1 && devices[i].socket_fd == devices[j].socket_fd) {
        return Error(where + ": socket_fd " + std::to_string(devices[i].socket_fd) +
                     " is already used by device " + std::to_string(j));
      }
    }
  }
  return ok_status();
}

Status check_control_fd(int control_fd, const std::vector<DeviceConfig>& devices) {
  if (control_fd == -1) return ok_status();
  if (control_fd < kMinDeviceSocketFd || control_fd > kMaxDeviceSocketFd) {
    return Error(expected_integer_text(kMinDeviceSocketFd, kMaxDeviceSocketFd) + ", got " +
                 std::to_string(control_fd));
  }
  for (size_t i = 0; i < devices.size(); ++i) {
    if (devices[i].socket_fd == control_fd) {
      return Error(std::to_string(control_fd) + " is already the socket of device " + std::to_string(i));
    }
  }
  return ok_status();
}

Status check_tpm_fd(int tpm_fd, int control_fd, const std::vector<DeviceConfig>& devices) {
  if (tpm_fd == -1) return ok_status();
  BULWARK_TRY(check_control_fd(tpm_fd, devices));  // the same range, no device's socket
  if (tpm_fd == control_fd) return Error(std::to_string(tpm_fd) + " is already the control channel");
  return ok_status();
}

std::string expected_integer_text(uint64_t min, uint64_t max) {
  return "expected an integer from " + std::to_string(min) + " to " + std::to_string(max);
}

Status validate_vm_config(const VmConfig& config) {
  struct FieldCheck {
    const char* field;
    Status status;
  };
  const FieldCheck checks[] = {
      {"kernel", check_required_path(config.kernel)},
      {"initrd", check_optional_path(config.initrd)},
      {"cmdline", check_cmdline(config.cmdline)},
      {"cpu_template", check_cpu_template_name(config.cpu_template)},
  };
  for (const auto& check : checks) {
    if (!check.status.ok()) return check.status.error().wrap(check.field);
  }
  if (config.memory_mib < kMinMemoryMib || config.memory_mib > kMaxMemoryMib) {
    return Error("memory_mib: " + expected_integer_text(kMinMemoryMib, kMaxMemoryMib) + ", got " +
                 std::to_string(config.memory_mib));
  }
  if (config.vcpus < kMinVcpus || config.vcpus > kMaxVcpus) {
    return Error("vcpus: " + expected_integer_text(kMinVcpus, kMaxVcpus) + ", got " +
                 std::to_string(config.vcpus));
  }
  if (!serial_output_from_name(serial_output_name(config.serial))) {
    return Error("serial: invalid output kind");
  }
  if (!emulated_host_quirks_from_name(emulated_host_quirks_name(config.emulated_host_quirks))) {
    return Error("emulated_host_quirks: invalid mode");
  }
  if (!seccomp_mode_from_name(seccomp_mode_name(config.seccomp))) return Error("seccomp: invalid mode");
  if (Status s = check_optional_path(config.seccomp_policy_dir); !s.ok()) return s.error().wrap("seccomp_policy_dir");
  if (Status s = check_devices(config.devices); !s.ok()) return s.error().wrap("devices");
  if (Status s = check_control_fd(config.control_fd, config.devices); !s.ok()) return s.error().wrap("control_fd");
  if (Status s = check_tpm_fd(config.tpm_fd, config.control_fd, config.devices); !s.ok()) return s.error().wrap("tpm_fd");
  if (config.serial == SerialOutput::kFile) {
    if (Status s = check_required_path(config.serial_path); !s.ok()) {
      return s.error().wrap("serial_path");
    }
  } else if (!config.serial_path.empty()) {
    return Error("serial_path: only allowed when serial output is a file");
  }
  return ok_status();
}

}  // namespace bulwark::config
