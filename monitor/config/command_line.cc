#include "monitor/config/command_line.h"

#include <algorithm>
#include <array>
#include <set>
#include <utility>
#include <vector>

#include "monitor/config/json_config.h"
#include "monitor/config/memory_size.h"
#include "monitor/config/message_text.h"

namespace bulwark::config {

namespace {

enum class Flag {
  kKernel,
  kInitrd,
  kCmdline,
  kMemory,
  kVcpus,
  kCpuTemplate,
  kSerial,
  kNoSerialInput,
  kEmulatedHostQuirks,
  kSeccomp,
  kSeccompPolicyDir,
  kVhostUserBlk,
  kVhostUserRng,
  kVhostUserNet,
  kConfig,
  kLogLevel,
  kListCpuTemplates,
  kVersion,
  kHelp,
};

struct FlagSpec {
  Flag flag;
  std::string_view name;
  std::string_view value_name;  // "" for flags that take no value
  std::string_view help;        // lines after the first are indented under it
  bool repeatable = false;      // may be given more than once (each adds one more)
};

// One table drives both parsing and --help, so they cannot drift apart.
constexpr std::array<FlagSpec, 19> kFlags{{
    {Flag::kKernel, "--kernel", "PATH", "Guest kernel, bzImage or ELF vmlinux (required)"},
    {Flag::kInitrd, "--initrd", "PATH", "Initial ramdisk (default: none)"},
    {Flag::kCmdline, "--cmdline", "STRING",
     "Kernel command line\n(default: \"console=ttyS0 reboot=k panic=-1\")"},
    {Flag::kMemory, "--memory", "SIZE",
     "Guest RAM, 16 MiB to 1 TiB: 512, 512M, 2G, 2GiB\n(no unit means MiB; default: 256)"},
    {Flag::kVcpus, "--vcpus", "N", "Number of vCPUs, 1 to 64 (default: 1)"},
    {Flag::kCpuTemplate, "--cpu-template", "NAME",
     "CPUID template, see --list-cpu-templates\n(default: default)"},
    {Flag::kSerial, "--serial", "OUTPUT",
     "Guest console: stdout, none or file:PATH\n(default: stdout)"},
    {Flag::kNoSerialInput, "--no-serial-input", "",
     "Do not send standard input to the guest console"},
    {Flag::kEmulatedHostQuirks, "--emulated-host-quirks", "MODE",
     "auto, on or off: workarounds for hosts whose\nKVM emulates guest code (default: auto)"},
    {Flag::kSeccomp, "--seccomp", "MODE",
     "enforce, log, off or record (only under\n`bulwark policy record`): the monitor's seccomp\npolicy once the VM runs (default: enforce)"},
    {Flag::kSeccompPolicyDir, "--seccomp-policy-dir", "DIR",
     "Where monitor-*.policy are read from\n(default: the tree the monitor was built from)"},
    {Flag::kVhostUserBlk, "--vhost-user-blk", "SOCKET|fd:N",
     "A virtio-blk disk served by a vhost-user\nprocess: its unix socket path, or fd:N for\nan inherited connected socket (repeatable)",
     true},
    {Flag::kVhostUserRng, "--vhost-user-rng", "SOCKET|fd:N",
     "A virtio-rng device served the same way\n(repeatable)", true},
    {Flag::kVhostUserNet, "--vhost-user-net", "SOCKET|fd:N",
     "A virtio-net NIC served the same way\n(repeatable)", true},
    {Flag::kConfig, "--config", "FILE",
     "Read the VM config from a JSON file first;\nthe other flags override it"},
    {Flag::kLogLevel, "--log-level", "LEVEL", "debug, info, warn or error (default: info)"},
    {Flag::kListCpuTemplates, "--list-cpu-templates", "", "List the CPU templates and exit"},
    {Flag::kVersion, "--version", "", "Print the version and exit"},
    {Flag::kHelp, "--help", "", "Print this help and exit"},
}};

const FlagSpec* find_flag(std::string_view name) {
  if (name == "-h") name = "--help";
  for (const FlagSpec& spec : kFlags) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

// Flag values, parsed and checked as they are read so errors come in command-line order; they
// are applied over the config file only once it has been read.
struct FlagValues {
  std::optional<std::string> kernel, initrd, cmdline, cpu_template, config_path, log_level;
  std::optional<uint64_t> memory_mib;
  std::optional<uint32_t> vcpus;
  std::optional<SerialOutput> serial;
  std::string serial_path;
  bool no_serial_input = false;
  std::optional<EmulatedHostQuirks> emulated_host_quirks;
  std::optional<SeccompMode> seccomp;
  std::optional<std::string> seccomp_policy_dir;
  std::vector<DeviceConfig> devices;  // in command-line order
  bool help = false, version = false, list_cpu_templates = false;
};

Result<uint32_t> parse_vcpus(std::string_view text) {
  uint64_t number = 0;
  bool valid = !text.empty() && text.size() <= 2;  // 1..64 never needs more digits
  for (char c : text) {
    valid = valid && c >= '0' && c <= '9';
    if (valid) number = number * 10 + static_cast<uint64_t>(c - '0');
  }
  if (!valid || number < kMinVcpus || number > kMaxVcpus) {
    return Error(expected_integer_text(kMinVcpus, kMaxVcpus) + ", got " + quoted_text(text));
  }
  return static_cast<uint32_t>(number);
}

Status parse_serial(std::string_view text, FlagValues& values) {
  constexpr std::string_view kFilePrefix = "file:";
  if (text.starts_with(kFilePrefix)) {
    const std::string_view path = text.substr(kFilePrefix.size());
    if (Status s = check_required_path(path); !s.ok()) return s.error().wrap("file:PATH");
    values.serial = SerialOutput::kFile;
    values.serial_path = std::string(path);
    return ok_status();
  }
  if (text == "file") return Error("\"file\" needs a path: file:PATH");
  if (text == "stdout") {
    values.serial = SerialOutput::kStdout;
  } else if (text == "none") {
    values.serial = SerialOutput::kNone;
  } else {
    return Error("unknown value " + quoted_text(text) + " (expected stdout, none or file:PATH)");
  }
  return ok_status();
}

// "fd:N" (an inherited socket) or a socket path. A path that starts with "fd:" can be given
// as "./fd:...".
Result<DeviceConfig> parse_device(std::string_view type, std::string_view text) {
  DeviceConfig device;
  device.type = std::string(type);
  constexpr std::string_view kFdPrefix = "fd:";
  if (!text.starts_with(kFdPrefix)) {
    BULWARK_TRY(check_required_path(text));
    device.socket = std::string(text);
    return device;
  }
  const std::string_view digits = text.substr(kFdPrefix.size());
  uint64_t number = 0;
  bool valid = !digits.empty() && digits.size() <= 7 && digits.front() != '0';
  for (char c : digits) {
    valid = valid && c >= '0' && c <= '9';
    if (valid) number = number * 10 + static_cast<uint64_t>(c - '0');
  }
  if (!valid || number < kMinDeviceSocketFd || number > kMaxDeviceSocketFd) {
    return Error("fd:N: " + expected_integer_text(kMinDeviceSocketFd, kMaxDeviceSocketFd) +
                 ", got " + quoted_text(digits));
  }
  device.socket_fd = static_cast<int>(number);
  return device;
}

// Errors carry no flag name; the caller adds it.
Status take_value(Flag flag, std::string_view value, FlagValues& values) {
  switch (flag) {
    case Flag::kKernel:
      BULWARK_TRY(check_required_path(value));
      values.kernel = std::string(value);
      return ok_status();
    case Flag::kInitrd:
      BULWARK_TRY(check_optional_path(value));
      values.initrd = std::string(value);
      return ok_status();
    case Flag::kCmdline:
      BULWARK_TRY(check_cmdline(value));
      values.cmdline = std::string(value);
      return ok_status();
    case Flag::kMemory: {
      Result<uint64_t> mib = parse_memory_size_mib(value);
      if (!mib.ok()) return mib.error();
      values.memory_mib = *mib;
      return ok_status();
    }
    case Flag::kVcpus: {
      Result<uint32_t> vcpus = parse_vcpus(value);
      if (!vcpus.ok()) return vcpus.error();
      values.vcpus = *vcpus;
      return ok_status();
    }
    case Flag::kCpuTemplate:
      BULWARK_TRY(check_cpu_template_name(value));
      values.cpu_template = std::string(value);
      return ok_status();
    case Flag::kSerial:
      return parse_serial(value, values);
    case Flag::kEmulatedHostQuirks:
      values.emulated_host_quirks = emulated_host_quirks_from_name(value);
      if (!values.emulated_host_quirks) {
        return Error("unknown value " + quoted_text(value) + " (expected one of: " +
                     std::string(kEmulatedHostQuirksNames) + ")");
      }
      return ok_status();
    case Flag::kSeccomp:
      values.seccomp = seccomp_mode_from_name(value);
      if (!values.seccomp) {
        return Error("unknown value " + quoted_text(value) + " (expected one of: " + std::string(kSeccompModeNames) +
                     ")");
      }
      return ok_status();
    case Flag::kSeccompPolicyDir:
      BULWARK_TRY(check_required_path(value));
      values.seccomp_policy_dir = std::string(value);
      return ok_status();
    case Flag::kVhostUserBlk:
    case Flag::kVhostUserRng:
    case Flag::kVhostUserNet: {
      const std::string_view type = flag == Flag::kVhostUserBlk   ? kVhostUserBlk
                                    : flag == Flag::kVhostUserRng ? kVhostUserRng
                                                                  : kVhostUserNet;
      Result<DeviceConfig> device = parse_device(type, value);
      if (!device.ok()) return device.error();
      values.devices.push_back(std::move(*device));
      return ok_status();
    }
    case Flag::kConfig:
      if (value.empty()) return Error("must not be empty");
      values.config_path = std::string(value);
      return ok_status();
    case Flag::kLogLevel:
      if (!log_level_from_name(value)) {
        return Error("unknown value " + quoted_text(value) +
                     " (expected one of: debug, info, warn, error)");
      }
      values.log_level = std::string(value);
      return ok_status();
    case Flag::kNoSerialInput: values.no_serial_input = true; return ok_status();
    case Flag::kListCpuTemplates: values.list_cpu_templates = true; return ok_status();
    case Flag::kVersion: values.version = true; return ok_status();
    case Flag::kHelp: values.help = true; return ok_status();
  }
  return Error("unhandled flag");
}

Result<FlagValues> read_flags(std::span<const std::string_view> args) {
  FlagValues values;
  std::set<Flag> seen;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (!arg.starts_with("-") || arg == "-") {
      return Error("unexpected argument " + quoted_text(arg) +
                   " (settings are flags such as --kernel PATH; see --help)");
    }
    const size_t equals = arg.starts_with("--") ? arg.find('=') : std::string_view::npos;
    const std::string_view name = arg.substr(0, equals);
    const FlagSpec* spec = find_flag(name);
    if (spec == nullptr) return Error("unknown flag " + quoted_text(name) + " (see --help)");
    const std::string flag_name(spec->name);
    if (!seen.insert(spec->flag).second && !spec->repeatable) return Error(flag_name + ": given more than once");

    std::string_view value;
    if (spec->value_name.empty()) {
      if (equals != std::string_view::npos) return Error(flag_name + ": takes no value");
    } else if (equals != std::string_view::npos) {
      value = arg.substr(equals + 1);
    } else if (i + 1 < args.size() && !args[i + 1].starts_with("--")) {
      value = args[++i];
    } else {
      // A following flag is almost always a forgotten value, not a value that starts with "--".
      std::string message = flag_name + ": missing value " + std::string(spec->value_name);
      if (i + 1 < args.size()) {
        message += " (found " + quoted_text(args[i + 1]) + "; write " + flag_name +
                   "=VALUE for a value starting with --)";
      }
      return Error(message);
    }
    if (Status s = take_value(spec->flag, value, values); !s.ok()) return s.error().wrap(flag_name);
  }
  return values;
}

void apply_flags(const FlagValues& values, VmConfig& config) {
  if (values.kernel) config.kernel = *values.kernel;
  if (values.initrd) config.initrd = *values.initrd;
  if (values.cmdline) config.cmdline = *values.cmdline;
  if (values.memory_mib) config.memory_mib = *values.memory_mib;
  if (values.vcpus) config.vcpus = *values.vcpus;
  if (values.cpu_template) config.cpu_template = *values.cpu_template;
  if (values.serial) {
    config.serial = *values.serial;
    config.serial_path = values.serial_path;  // "" unless file:PATH, dropping the file's path
  }
  if (values.no_serial_input) config.serial_input = false;
  if (values.emulated_host_quirks) config.emulated_host_quirks = *values.emulated_host_quirks;
  if (values.seccomp) config.seccomp = *values.seccomp;
  if (values.seccomp_policy_dir) config.seccomp_policy_dir = *values.seccomp_policy_dir;
  // Devices add to the config file's, after them.
  config.devices.insert(config.devices.end(), values.devices.begin(), values.devices.end());
}

}  // namespace

std::optional<log::Level> log_level_from_name(std::string_view name) {
  if (name == "debug") return log::Level::kDebug;
  if (name == "info") return log::Level::kInfo;
  if (name == "warn") return log::Level::kWarn;
  if (name == "error") return log::Level::kError;
  return std::nullopt;
}

Result<CommandLine> parse_command_line(std::span<const std::string_view> args,
                                       const ReadFile& read_file) {
  Result<FlagValues> values = read_flags(args);
  if (!values.ok()) return values.error();

  CommandLine result;
  result.show_help = values->help;
  result.show_version = values->version;
  result.list_cpu_templates = values->list_cpu_templates;
  if (values->log_level) result.log_level = *values->log_level;
  // These modes print and exit: a broken or missing config file must not stand in their way.
  if (result.show_help || result.show_version || result.list_cpu_templates) return result;

  if (values->config_path) {
    Result<std::string> text = read_file(*values->config_path);
    if (!text.ok()) return text.error().wrap("--config");
    Result<VmConfig> from_file = parse_vm_config_json(
        *text, JsonConfigOptions{.source = "config file " + quoted_path(*values->config_path),
                                 .require_kernel = false});
    if (!from_file.ok()) return from_file.error();
    result.config = std::move(*from_file);
  }
  apply_flags(*values, result.config);
  if (result.config.kernel.empty()) {
    return Error("no kernel: give --kernel PATH or \"kernel\" in the --config file");
  }
  if (Status s = validate_vm_config(result.config); !s.ok()) return s.error();
  return result;
}

std::string usage_text(std::string_view program) {
  constexpr size_t kHelpColumn = 31;  // fits the longest flag; text up to column 80
  std::string text = "Usage: " + std::string(program) +
                     " --kernel PATH [options]\n"
                     "       " + std::string(program) + " --config FILE [options]\n\n"
                     "Runs one KVM virtual machine.\n\n"
                     "Options (each at most once unless marked repeatable; --flag VALUE or\n"
                     "--flag=VALUE):\n";
  for (const FlagSpec& spec : kFlags) {
    std::string left = spec.flag == Flag::kHelp ? "  -h, " : "  ";
    left += spec.name;
    if (!spec.value_name.empty()) left += " " + std::string(spec.value_name);
    left.resize(std::max(left.size() + 2, kHelpColumn), ' ');
    text += left;
    for (char c : spec.help) {
      text += c;
      if (c == '\n') text += std::string(kHelpColumn, ' ');
    }
    text += '\n';
  }
  text +=
      "\nConfig file: JSON, every field optional except kernel, unknown fields refused:\n"
      "  {\"kernel\": \"vmlinux\", \"initrd\": \"initrd.img\", \"cmdline\": \"console=ttyS0\",\n"
      "   \"memory_mib\": 512, \"vcpus\": 2, \"cpu_template\": \"default\",\n"
      "   \"serial\": {\"kind\": \"stdout\" | \"file\" | \"none\", \"path\": \"console.log\",\n"
      "              \"input\": true},\n"
      "   \"emulated_host_quirks\": \"auto\" | \"on\" | \"off\",\n"
      "   \"seccomp\": \"enforce\" | \"log\" | \"off\", \"seccomp_policy_dir\": \"policy/seccomp\",\n"
      "   \"devices\": [{\"type\": \"vhost-user-blk\" | \"vhost-user-rng\" | \"vhost-user-net\" |\n"
      "                \"vhost-user-vsock\",\n"
      "                \"socket\": \"/run/blk.sock\" or \"socket_fd\": 3}]}\n"
      "Devices from flags come after the file's.\n";
  return text;
}

}  // namespace bulwark::config
