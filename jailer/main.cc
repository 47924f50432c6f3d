// bulwark: the privileged launcher. `bulwark run vm.json` validates the whole config, builds the
// monitor's jail (jail.h), waits for the VM to end whatever way it ends, tears the jail down and
// exits with the monitor's exit code (128 + signal when the monitor was killed).
// It never maps or reads guest memory.
#include <fcntl.h>
#include <sys/signalfd.h>
#include <poll.h>
#include <signal.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/common/log.h"
#include "bulwark/common/unique_fd.h"
#include "jailer/api/api_process.h"
#include "jailer/attest_cli/attest_command.h"
#include "jailer/api/api_socket.h"
#include "jailer/api/monitor_control.h"
#include "jailer/api/vm_api.h"
#include "jailer/config_files.h"
#include "jailer/device_supervisor.h"
#include "jailer/host_config.h"
#include "jailer/ids/vm_ids.h"
#include "jailer/jail.h"
#include "jailer/jail_config.h"
#include "jailer/log_line.h"
#include "jailer/log_relay.h"
#include "jailer/monitor_spec.h"
#include "jailer/net_config.h"
#include "jailer/seccomp_audit.h"
#include "jailer/stale_vm.h"
#ifdef BULWARK_HAVE_POLICY_CLI
#include "jailer/policy_cli/policy_command.h"
#include "jailer/policy_cli/process_profile.h"
#include "jailer/policy_cli/policy_tree.h"
#endif
#include "jailer/vm_cli/vm_command.h"
#include "jailer/vm_devices.h"
#include "jailer/vm_tpm.h"
#include "jailer/svirt/file_labels.h"
#include "jailer/svirt/security_context.h"
#include "jailer/svirt/selinux_mode.h"
#include "jailer/svirt/socket_create_context.h"
#include "jailer/svirt/vm_svirt.h"
#include "jailer/vm_id.h"
#include "jailer/vm_user_files.h"
#include "monitor/config/message_text.h"
#include "policy/seccomp_policy/policy_apply.h"
#include "policy/seccomp_policy/syscall_names.h"

namespace {

using namespace bulwark;

constexpr int kExitUsage = 1;       // bad command line or config: nothing was created
constexpr int kExitJailFailed = 9;  // a jail step failed: everything made so far was removed
constexpr unsigned long kAuditArchX86_64 = 0xc000003e;  // AUDIT_ARCH_X86_64

const char kUsage[] =
    "Usage: bulwark run --id ID [options] VM.json\n"
    "       bulwark run --id ID --api-sock PATH [options] [VM.json]\n"
    "       bulwark policy show|diff|check|record|minimality ...   (bulwark policy --help)\n"
    "       bulwark vm info|pause|resume|stop|metrics|policy --api-sock PATH   (bulwark vm --help)\n"
    "       bulwark attest quote|verify|reference ...   (bulwark attest --help)\n"
    "\n"
    "Starts bulwark-monitor for the VM in VM.json inside a jail (namespaces, pivot_root,\n"
    "cgroup limits, the VM's own uid/gid, no capabilities) and waits for it.\n"
    "VM.json is the tenant's: what the VM asks for (kernel, initrd, cmdline, memory, vCPUs, disks,\n"
    "NICs, rng), within the operator's ceilings. Everything else is the operator's (jailer/README.md).\n"
    "\n"
    "Operator options (each overrides the host config's field of the same name):\n"
    "  --id ID                    the VM id (required): [A-Za-z0-9-], 1 to 64 characters\n"
    "  --host-config PATH         operator settings (default: " BULWARK_DEFAULT_HOST_CONFIG
    ";\n"
    "                             built-in defaults when that file does not exist)\n"
    "  --netns NAME               put the VM in /run/netns/NAME (one the host config lists)\n"
    "  --api-sock PATH            serve the VM's REST API (Firecracker's paths) on a unix socket\n"
    "                             made at PATH (root and the host config's api.socket_gid);\n"
    "                             without VM.json the VM is configured through it and started\n"
    "                             by PUT /actions InstanceStart (api/README.md)\n"
    "  --api PATH                 bulwark-api binary (default: " BULWARK_DEFAULT_API ")\n"
    "  --base-dir DIR  --run-dir DIR  --cgroup-root DIR  --cgroup-parent PATH\n"
    "  --selinux enforce|auto|off\n"
    "  --monitor PATH             bulwark-monitor binary (default: " BULWARK_DEFAULT_MONITOR ")\n"
    "  --dev-blk PATH             bulwark-dev-blk binary (default: " BULWARK_DEFAULT_DEV_BLK ")\n"
    "  --dev-rng PATH             bulwark-dev-rng binary (default: " BULWARK_DEFAULT_DEV_RNG ")\n"
    "  --dev-net PATH             bulwark-dev-net binary (default: " BULWARK_DEFAULT_DEV_NET ")\n"
    "  --dev-vsock PATH           bulwark-dev-vsock binary (default: " BULWARK_DEFAULT_DEV_VSOCK ")\n"
    "  --allowed-ips NIC=PREFIX[,PREFIX...]\n"
    "                             the source addresses NIC may use (over the host config's\n"
    "                             net.allowed_ips for this VM; repeatable, one NIC each)\n"
    "  --seccomp-policy-dir DIR   the monitor's and the devices' policy files\n"
    "                             (default: " BULWARK_DEFAULT_POLICY_DIR ")\n"
    "  --seccomp-record           the monitor and devices report every system call to\n"
    "                             `bulwark policy record` instead of refusing any (testing only)\n"
    "  --stop-grace-seconds N     SIGTERM to SIGKILL delay on shutdown (default: 10)\n"
    "  --log-format text|json     the launcher's stderr: each line a VM process writes as\n"
    "                             \"bulwark[ID/PROCESS]: LINE\" (text, the default) or every\n"
    "                             record, the launcher's own too, one JSON object a line\n"
    "                             (time, level, vm, process, message); each VM process's lines\n"
    "                             are rate-limited (100 a second, bursts of 1000)\n"
    "  --selinux-types vm=T,image=T,content=T,jail=T\n"
    "                             sVirt type names, any subset (default: bulwark_vm_t,\n"
    "                             bulwark_image_t, bulwark_content_t, bulwark_jail_t;\n"
    "                             policy/selinux defines them)\n"
    "\n"
    "Exit status: the monitor's; 128+N if it was killed by signal N; 1 bad command line or\n"
    "config; 9 the jail could not be set up (ids, SELinux, a jail step).\n";

Result<uint32_t> parse_seconds(std::string_view flag, std::string_view text) {
  uint64_t value = 0;
  bool ok = !text.empty() && text.size() <= 4;
  for (char c : text) {
    ok = ok && c >= '0' && c <= '9';
    if (ok) value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (!ok || value < 1 || value > 3600) {
    return Error(std::string(flag) + ": expected an integer from 1 to 3600, got " +
                 config::quoted_text(text));
  }
  return static_cast<uint32_t>(value);
}

struct RunCommand {
  std::string config_path;
  std::string host_config_path = BULWARK_DEFAULT_HOST_CONFIG;
  bool host_config_given = false;
  // Flags that override the host config's fields, applied in order once it is read.
  std::vector<std::pair<std::string, std::string>> overrides;
  jail::OperatorChoices choices;
  bool seccomp_record = false;
  std::string api_sock;  // --api-sock PATH: the operator's
  jail::LogFormat log_format = jail::LogFormat::kText;  // --log-format
};

// "vm=T,image=T,content=T,jail=T" (any subset) onto the default type names.
Status parse_selinux_types(std::string_view text, jailer::SvirtTypes& types) {
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find(',', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view item = text.substr(pos, end - pos);
    const size_t equals = item.find('=');
    if (equals == std::string_view::npos) {
      return Error("expected KIND=TYPE, got " + config::quoted_text(item));
    }
    const std::string_view kind = item.substr(0, equals);
    const std::string type(item.substr(equals + 1));
    if (kind == "vm") {
      types.vm_domain = type;
    } else if (kind == "image") {
      types.image_type = type;
    } else if (kind == "content") {
      types.content_type = type;
    } else if (kind == "jail") {
      types.jail_type = type;
    } else {
      return Error("unknown kind " + config::quoted_text(kind) + " (vm, image, content or jail)");
    }
    pos = end + 1;
  }
  return jailer::validate_svirt_types(types);
}

Result<RunCommand> parse_run_args(const std::vector<std::string_view>& args) {
  RunCommand command;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (!arg.starts_with("--")) {
      if (!command.config_path.empty()) return Error("more than one config file given");
      command.config_path = std::string(arg);
      continue;
    }
    if (arg == "--seccomp-record") {
      if (Status traced = policy::check_recording_tracer(); !traced.ok()) return traced.error().wrap("--seccomp-record");
      command.seccomp_record = true;
      continue;
    }
    if (arg == "--uid" || arg == "--gid") {
      return Error(std::string(arg) +
                   ": a VM's uid and gid are always allocated from the host config's id_range");
    }
    if (i + 1 >= args.size()) return Error(std::string(arg) + ": needs a value");
    const std::string value(args[++i]);
    if (arg == "--id") {
      if (Status s = jail::validate_vm_id(value); !s.ok()) return s.error().wrap("--id");
      command.choices.vm_id = value;
    } else if (arg == "--netns") {
      if (Status s = jail::check_netns_name(value); !s.ok()) return s.error().wrap("--netns");
      command.choices.netns = value;
    } else if (arg == "--api-sock") {
      command.api_sock = value;
    } else if (arg == "--log-format") {
      auto format = jail::parse_log_format(value);
      if (!format.ok()) return format.error().wrap("--log-format");
      command.log_format = *format;
    } else if (arg == "--host-config") {
      command.host_config_path = value;
      command.host_config_given = true;
    } else if (arg == "--allowed-ips") {
      std::map<std::string, std::vector<std::string>> one;
      if (Status s = jail::parse_allowed_ips_flag(value, one); !s.ok()) return s.error().wrap("--allowed-ips");
      for (auto& [nic, prefixes] : one) {
        if (command.choices.allowed_ips.contains(nic)) {
          return Error("--allowed-ips: NIC " + config::quoted_text(nic) + " given twice");
        }
        command.choices.allowed_ips[nic] = std::move(prefixes);
      }
    } else if (arg == "--monitor" || arg == "--dev-blk" || arg == "--dev-rng" || arg == "--dev-net" || arg == "--dev-vsock" ||
               arg == "--seccomp-policy-dir" || arg == "--run-dir" || arg == "--selinux-types" ||
               arg == "--cgroup-root" || arg == "--stop-grace-seconds" || arg == "--base-dir" ||
               arg == "--cgroup-parent" || arg == "--selinux" || arg == "--api") {
      command.overrides.emplace_back(std::string(arg), value);
    } else {
      return Error("unknown option " + config::quoted_text(arg));
    }
  }
  if (command.config_path.empty() && command.api_sock.empty()) {
    return Error("no config file given (or --api-sock PATH to configure the VM through its API)");
  }
  if (command.choices.vm_id.empty()) return Error("no VM id given (--id ID)");
  return command;
}

// The operator's settings in effect: the host config, then the flags over it.
struct OperatorSettings {
  jail::HostConfig host;
  jail::MonitorLaunchOptions options;
  jailer::SvirtTypes selinux_types;
  std::string api_path;  // bulwark-api
};

Result<OperatorSettings> resolve_operator_settings(const RunCommand& command) {
  OperatorSettings settings;
  bool found = false;
  auto host = jail::load_host_config(command.host_config_path, command.host_config_given, &found);
  if (!host.ok()) return host.error();
  settings.host = std::move(*host);
  jail::HostConfig& h = settings.host;
  for (const auto& [flag, value] : command.overrides) {
    Status status = ok_status();
    if (flag == "--monitor") {
      h.monitor = value;
    } else if (flag == "--dev-blk") {
      h.dev_blk = value;
    } else if (flag == "--dev-rng") {
      h.dev_rng = value;
    } else if (flag == "--dev-net") {
      h.dev_net = value;
    } else if (flag == "--dev-vsock") {
      h.dev_vsock = value;
    } else if (flag == "--api") {
      h.api.binary = value;
    } else if (flag == "--seccomp-policy-dir") {
      h.seccomp_policy_dir = value;
    } else if (flag == "--run-dir") {
      status = jail::check_base_dir(value);
      h.run_dir = value;
    } else if (flag == "--base-dir") {
      status = jail::check_base_dir(value);
      h.base_dir = value;
    } else if (flag == "--cgroup-root") {
      status = jail::check_base_dir(value);
      h.cgroup_root = value;
    } else if (flag == "--cgroup-parent") {
      status = jail::check_cgroup_parent(value);
      h.cgroup_parent = value;
    } else if (flag == "--selinux") {
      status = jail::check_selinux_mode(value);
      h.selinux = value;
    } else if (flag == "--stop-grace-seconds") {
      auto seconds = parse_seconds(flag, value);
      if (!seconds.ok()) return seconds.error();
      h.stop_grace_seconds = *seconds;
    }
    if (!status.ok()) return status.error().wrap(flag);
  }
  jailer::SvirtTypes& types = settings.selinux_types;
  if (!h.selinux_vm_type.empty()) types.vm_domain = h.selinux_vm_type;
  if (!h.selinux_image_type.empty()) types.image_type = h.selinux_image_type;
  if (!h.selinux_content_type.empty()) types.content_type = h.selinux_content_type;
  if (!h.selinux_jail_type.empty()) types.jail_type = h.selinux_jail_type;
  for (const auto& [flag, value] : command.overrides) {
    if (flag != "--selinux-types") continue;
    if (Status s = parse_selinux_types(value, types); !s.ok()) return s.error().wrap(flag);
  }
  if (Status s = jailer::validate_svirt_types(types); !s.ok()) return s.error().wrap("host config /selinux_types");
  jail::MonitorLaunchOptions& options = settings.options;
  options.monitor_path = h.monitor.empty() ? BULWARK_DEFAULT_MONITOR : h.monitor;
  options.dev_blk_path = h.dev_blk.empty() ? BULWARK_DEFAULT_DEV_BLK : h.dev_blk;
  options.dev_rng_path = h.dev_rng.empty() ? BULWARK_DEFAULT_DEV_RNG : h.dev_rng;
  options.dev_net_path = h.dev_net.empty() ? BULWARK_DEFAULT_DEV_NET : h.dev_net;
  options.dev_vsock_path = h.dev_vsock.empty() ? BULWARK_DEFAULT_DEV_VSOCK : h.dev_vsock;
  settings.api_path = h.api.binary.empty() ? BULWARK_DEFAULT_API : h.api.binary;
  options.seccomp_policy_dir =
      h.seccomp_policy_dir.empty() ? BULWARK_DEFAULT_POLICY_DIR : h.seccomp_policy_dir;
  options.cgroup_root = h.cgroup_root;
  options.seccomp_record = command.seccomp_record;
  if (found) log::info("operator settings from " + config::quoted_text(command.host_config_path, 256));
  return settings;
}

Result<jailer::VmIds> reserve_ids(const jail::JailSettings& settings, const std::string& run_dir) {
  jailer::VmIdsConfig config;
  config.run_dir = std::filesystem::path(run_dir) / "ids";
  config.range = {settings.id_range_first, settings.id_range_last};
  // Always allocated, never requested: the operator's range, minus what anyone else holds.
  return jailer::allocate_vm_ids(config, settings.id);
}

// Step vm-files: the tenant's inputs of the monitor's jail (kernel, initrd: every input with
// check_vm_access), each opened by a helper that has become the VM's user
// (jailer/vm_user_files.h) before anything of the VM runs. The jail binds these fds (step
// bind-inputs) and sVirt labels them (step label, label_vm_inputs); the caller keeps them open until the monitor
// has started. A refusal names the path; the launcher exits 9.
Result<std::vector<jail::VmUserFile>> open_vm_inputs(jail::JailSpec& spec) {
  std::vector<jail::VmUserFile> files;
  for (jail::ReadOnlyInput& input : spec.inputs) {
    if (!input.check_vm_access) continue;  // operator's files (monitor, libraries, policy)
    auto file = jail::open_as_vm_user(input.host_path, spec.uid, spec.gid);
    if (!file.ok()) return file.error().wrap("jail step vm-files");
    input.fd = file->fd.get();
    files.push_back(std::move(*file));
  }
  return files;
}

// Step label: the tenant's kernel and initrd, on the fds step vm-files opened as the VM user
// (never by path), so a tenant cannot get a host file it could not read relabelled nor redirect
// the relabel by renaming: content type at plain s0, read-only and shared through label memory
// (jailer/svirt/label_memory.h), so the last VM using one restores it. The jail's own files are
// labelled at their creation (spec.create_label).
Status label_vm_inputs(jailer::VmSvirt& svirt, const jail::JailSpec& spec) {
  if (!svirt.pair()) return ok_status();
  for (const jail::ReadOnlyInput& input : spec.inputs) {
    if (!input.check_vm_access) continue;  // operator's files (monitor, libraries, policy)
    // Not opened as the VM user: nothing to label; step bind-inputs refuses it.
    if (input.fd < 0) continue;
    auto labelled = svirt.label_boot_input(input.fd, config::quoted_text(input.host_path));
    if (!labelled.ok()) return labelled.error().wrap("jail step label");
  }
  return ok_status();
}

// "system call socket (41)", from the kernel's audit record of the kill.
std::string seccomp_kill_cause(Result<jail::KernelLogCursor>& kernel_log, pid_t pid,
                               std::chrono::milliseconds wait = std::chrono::seconds(2)) {
  if (!kernel_log.ok()) return "system call unknown (no kernel log)";
  auto record = kernel_log->find_seccomp_kill(pid, wait);
  if (!record) {
    // Without auditd the kernel prints audit records through a rate limit and drops the rest.
    return "system call unknown (no audit record of the kill in the kernel log; the kernel "
           "rate-limits them when auditd is not running)";
  }
  if (record->arch != kAuditArchX86_64) {
    return "system call " + std::to_string(record->syscall) + " of a non-x86-64 ABI";
  }
  return "system call " + policy::x86_64_syscall_name(record->syscall) + " (" +
         std::to_string(record->syscall) + ")";
}

// The monitor's config entry for a device whose socket it gets as `fd`.
void add_monitor_device(config::VmConfig& vm, jail::DeviceKind kind, int fd) {
  vm.devices.push_back({jail::device_type_name(kind), fd});
}

#ifdef BULWARK_HAVE_POLICY_CLI
// GET /policy: `bulwark policy show --json`'s document for the policy files this VM runs with,
// plus who this VM's processes are.
nlohmann::json this_vm_policy(const std::string& seccomp_dir, const std::string& vm_id, uint32_t uid,
                              const std::string& categories) {
  policy_cli::ShowOptions show;
  show.seccomp_dir = seccomp_dir;
  if (auto tree = policy_cli::locate_policy_tree(seccomp_dir + "/.."); tree.ok() && tree->selinux_dir) {
    show.selinux_dir = tree->selinux_dir;
  }
  nlohmann::json document = policy_cli::build_process_profiles(show);
  document["vm"] = {{"id", vm_id}, {"uid", uid}, {"gid", uid}, {"selinux_categories", categories}};
  return document;
}
#endif

// The answer to the InstanceStart that started this VM: 204 once the monitor runs, else a fault
// when the launcher leaves without it.
class InstanceStartAnswer {
 public:
  explicit InstanceStartAnswer(jail::ApiProcess* api) : api_(api) {}
  InstanceStartAnswer(const InstanceStartAnswer&) = delete;
  InstanceStartAnswer& operator=(const InstanceStartAnswer&) = delete;
  ~InstanceStartAnswer() {
    if (api_ != nullptr) {
      api_->reply({500, api::Reply::Body::kFault,
                   "InstanceStart: the VM could not be started (the launcher's log says why); the launcher exits"});
    }
  }
  void succeeded() {
    if (api_ != nullptr) api_->reply({204, api::Reply::Body::kNone, ""});
    api_ = nullptr;
  }

 private:
  jail::ApiProcess* api_;
};

// Before InstanceStart: serves the API's commands until one starts a valid VM (returned, its
// InstanceStart not yet answered: the caller answers once the VM runs) or a stop signal comes or
// the API is gone for good (nullopt).
std::optional<jail::LaunchConfig> serve_until_instance_start(jail::ApiProcess& api, jail::VmApi& vm_api,
                                                             const sigset_t& stop_signals) {
  UniqueFd signals(::signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signals.valid()) {
    log::error("jail step api: signalfd: " + std::string(std::strerror(errno)));
    return std::nullopt;
  }
  for (;;) {
    if (!api.running() && api.channel_fd() < 0) {
      log::error("the API process is gone before InstanceStart; nothing can start the VM");
      return std::nullopt;
    }
    pollfd fds[2] = {{signals.get(), POLLIN, 0}, {api.channel_fd(), POLLIN, 0}};
    if (::poll(fds, 2, 1000) <= 0) continue;
    if (fds[0].revents != 0) {
      signalfd_siginfo info{};
      if (::read(signals.get(), &info, sizeof(info)) == static_cast<ssize_t>(sizeof(info))) {
        log::info("stopped by signal " + std::to_string(info.ssi_signo) + " before InstanceStart");
        return std::nullopt;
      }
    }
    if (fds[1].revents == 0) continue;
    auto command = api.receive();
    if (!command) continue;
    jail::VmApiOutcome outcome = vm_api.handle(*command);
    if (outcome.start_requested) return std::move(*vm_api.assembled());
    api.reply(outcome.reply);
  }
}

int run(const std::vector<std::string_view>& args) {
  // Before anything else: signals that arrive during setup wait for the wait loop.
  const sigset_t stop_signals = jail::block_launcher_signals();

  auto command = parse_run_args(args);
  if (!command.ok()) {
    log::error(command.error().message());
    std::fprintf(stderr, "Try 'bulwark --help'.\n");
    return kExitUsage;
  }
  // From here on every record of the launcher has the shape the operator chose.
  if (command->log_format == jail::LogFormat::kJson) {
    log::set_record_formatter([vm_id = command->choices.vm_id](log::Level level, std::string_view message) {
      return jail::format_launcher_json(vm_id, log::level_name(level), message, std::chrono::system_clock::now());
    });
  }
  // The operator's settings first: the host config (root-owned) with the flags over it.
  auto operator_settings = resolve_operator_settings(*command);
  if (!operator_settings.ok()) {
    log::error(operator_settings.error().message());
    return kExitUsage;
  }
  const jail::HostConfig& host = operator_settings->host;
  jail::MonitorLaunchOptions& options = operator_settings->options;
  const std::string& run_dir = host.run_dir;
  // The VM config: from VM.json, checked whole (against the operator's ceilings too) before
  // anything is created; or, with --api-sock and no file, assembled from API requests later.
  std::optional<jail::LaunchConfig> launch;
  if (!command->config_path.empty()) {
    auto text = jail::read_regular_config_file(command->config_path);
    if (!text.ok()) {
      log::error(text.error().message());
      return kExitUsage;
    }
    auto parsed = jail::parse_launch_config(*text);
    if (!parsed.ok()) {
      log::error(parsed.error().message());
      return kExitUsage;
    }
    if (Status s = jail::apply_operator_settings(host, command->choices, *parsed); !s.ok()) {
      log::error(s.error().message());
      return kExitUsage;
    }
    launch = std::move(*parsed);
  }
  // The VM's jail settings are the operator's alone: the same with or without a VM config yet.
  jail::JailSettings jail_settings =
      launch ? launch->jail : jail::jail_settings_from_host(host, command->choices);
  const std::string vm_id = jail_settings.id;
  auto mode = jailer::parse_selinux_mode(jail_settings.selinux);
  if (!mode.ok()) {
    log::error(mode.error().message());
    return kExitUsage;
  }
  // Step selinux-check: "enforce" on a host without SELinux is refused before anything exists.
  if (auto plan = jailer::plan_svirt(*mode, jailer::host_selinux_enabled()); !plan.ok()) {
    log::error("jail step selinux: " + plan.error().message());
    return kExitJailFailed;
  }

  // The launch sequence. Owners are declared in setup order, so leaving this function (any way
  // the VM ended) releases them in reverse: jail, labels, MCS pair, launch record, ids.
  // Step vm-id: one launcher per VM id, host-wide, until this one is done.
  auto vm_id_claim = jail::claim_vm_id(run_dir, vm_id);
  if (!vm_id_claim.ok()) {
    log::error("jail step vm-id: " + vm_id_claim.error().message());
    return kExitJailFailed;
  }
  // Step sweep: what a launcher of this VM id that was killed recorded as made, where the
  // operator's settings agree; anything else is reported and left alone.
  jail::VmPlaces places = jail::vm_places(host.base_dir, host.cgroup_root, host.cgroup_parent, vm_id);
  places.tap_netns = host.net.tap_netns;
  places.tap_prefix = host.net.tap_prefix;
  if (host.vsock.enabled()) places.vsock_dir = jail::vm_vsock_dir(host.vsock, vm_id);
  auto swept = jail::sweep_recorded_leftovers(run_dir, vm_id, places);
  if (!swept.ok()) {
    log::error("jail step sweep: " + swept.error().message());
    return kExitJailFailed;
  }
  for (const std::string& path : swept->removed) {
    log::warn("VM " + vm_id + ": removed " + path + ", left by a launcher that died");
  }
  for (const std::string& what : swept->labels_repaired) {
    log::warn("VM " + vm_id + ": label memory repaired after a launcher that died: " + what);
  }
  for (const std::string& what : swept->left_alone) {
    log::warn("VM " + vm_id + ": left alone (no launch record of this VM names it as made here): " + what);
  }
  auto stale = jail::remove_stale_reservations(run_dir, vm_id);
  if (!stale.ok()) {
    log::error("jail step vm-id: " + stale.error().message());
    return kExitJailFailed;
  }
  for (const std::string& path : *stale) {
    log::warn("VM " + vm_id + ": removed " + path + ", left by a launcher that died");
  }
  // Step ids: this VM's uid/gid, reserved host-wide until the launcher is done.
  auto ids = reserve_ids(jail_settings, run_dir);
  if (!ids.ok()) {
    log::error("jail step ids: " + ids.error().message());
    return kExitJailFailed;
  }
  jail_settings.uid = ids->uid();
  jail_settings.gid = ids->gid();
  // This launch's record: every jail directory and cgroup leaf it makes, for a sweep after a
  // SIGKILL. Removed after the teardown below.
  auto record = jail::LaunchRecordFile::create(run_dir, vm_id, ids->uid());
  if (!record.ok()) {
    log::error("jail step sweep: " + record.error().message());
    return kExitJailFailed;
  }
  options.record_created = record->hook();

  // Step svirt: the MCS pair (unless off); files are labelled in step label (label_jail).
  jailer::SvirtConfig svirt_config;
  svirt_config.mode = *mode;
  svirt_config.types = operator_settings->selinux_types;
  svirt_config.mcs.run_dir = std::filesystem::path(run_dir) / "mcs";
  svirt_config.mcs.first_category = host.mcs_first;
  svirt_config.mcs.last_category = host.mcs_last;
  svirt_config.run_dir = run_dir;
  svirt_config.shared_image_dirs = host.shared_image_dirs;
  auto svirt = jailer::VmSvirt::prepare(svirt_config, vm_id);
  if (!svirt.ok()) {
    log::error("jail step svirt: " + svirt.error().message());
    return kExitJailFailed;
  }
  // Every tenant file is on this launch's record before it is relabelled, so the sweep after a
  // SIGKILL finds it (by path, then dev/inode). A file with no name left cannot be found again
  // by path, and its label goes with its last fd.
  jail::LaunchRecordFile* record_file = &*record;
  svirt->set_label_record_hook([record_file](const jailer::LabelledFile& file) -> Status {
    if (file.path.empty()) return ok_status();
    return record_file->add_label({file.dev, file.ino, file.path});
  });
  auto exec_context = svirt->monitor_exec_context();
  if (!exec_context.ok()) {
    log::error("jail step svirt: " + exec_context.error().message());
    return kExitJailFailed;
  }
  log::info("VM " + vm_id + ": uid " + std::to_string(ids->uid()) + ", gid " +
            std::to_string(ids->gid()) +
            (svirt->pair() ? ", sVirt categories " + svirt->pair()->categories() : ", sVirt off"));

  // Step logs: every VM process writes its diagnostics to a channel of the log relay, which
  // stamps each line with the VM id and the process's name on the launcher's stderr
  // (log_relay.h). Forked now, while the launcher is single-threaded, before any VM process.
  jail::LogRelaySettings log_settings;
  log_settings.vm_id = vm_id;
  log_settings.format = command->log_format;
  log_settings.socket_context = svirt->socket_context();
  auto logs = jail::LogRelay::start(std::move(log_settings));
  if (!logs.ok()) {
    log::error("jail step logs: " + logs.error().message());
    return kExitJailFailed;
  }

  // Step api (--api-sock): the socket at the operator's path and bulwark-api, jailed, serving it.
  std::optional<jail::ApiSocket> api_socket;
  std::optional<jail::ApiProcess> api_process;
  std::optional<jail::VmApi> vm_api;
  UniqueFd null_fd(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!command->api_sock.empty()) {
    auto api_context = svirt->exec_context(jail::kApiSelinuxDomain);
    if (!api_context.ok()) {
      log::error("jail step api: " + api_context.error().message());
      return kExitJailFailed;
    }
    // The listening socket carries bulwark-api's context (it accepts on it) when sockets are
    // labelled at all (SELinux enabled).
    const std::string listen_context = svirt->socket_context().empty() ? std::string() : *api_context;
    // The socket file: bulwark_api_sock_t at the VM's pair, so another VM's processes cannot
    // reach it (policy/selinux); clients connect at s0 (api/README.md).
    const std::string file_context = listen_context.empty() || !svirt->pair()
        ? std::string()
        : "system_u:object_r:bulwark_api_sock_t:s0:" + svirt->pair()->categories();
    auto socket = jail::ApiSocket::create(command->api_sock, host.api.socket_gid, listen_context, file_context);
    if (!socket.ok()) {
      log::error("jail step api: " + socket.error().message());
      return kExitJailFailed;
    }
    api_socket.emplace(std::move(*socket));
    jail::ApiProcessSettings api_settings;
    api_settings.binary = operator_settings->api_path;
    api_settings.jail = jail_settings;
    api_settings.options = &options;
    api_settings.listen_fd = api_socket->listen_fd();
    api_settings.exec_context = *api_context;
    api_settings.socket_context = listen_context;  // both ends of its channel carry its context
    api_settings.create_label = svirt->jail_create_label();
    api_settings.null_fd = null_fd.get();
    // Kept by the launcher: a restarted bulwark-api gets the same channel.
    auto api_log = logs->add_process("api", true);
    if (!api_log.ok()) {
      log::error("jail step api: " + api_log.error().message());
      return kExitJailFailed;
    }
    api_settings.stderr_fd = *api_log;
    auto started = jail::ApiProcess::start(std::move(api_settings));
    if (!started.ok()) {
      log::error(started.error().message());
      return kExitJailFailed;
    }
    api_process.emplace(std::move(*started));
    vm_api.emplace(host, command->choices, vm_id);
    // PUT /logger: the relay's level and log file (the launcher opens the file, the relay writes).
    jail::LogRelay* relay_for_api = &*logs;
    vm_api->set_log_control([relay_for_api](jail::RelayLevel level, bool show_level, int file) {
      return relay_for_api->configure(level, show_level, file);
    });
#ifdef BULWARK_HAVE_POLICY_CLI
    const std::string policy_dir = options.seccomp_policy_dir;
    const std::string categories = svirt->pair() ? svirt->pair()->categories() : "";
    const uint32_t vm_uid = ids->uid();
    vm_api->set_policy_source([policy_dir, vm_id, categories, vm_uid]() {
      return this_vm_policy(policy_dir, vm_id, vm_uid, categories);
    });
#endif
    log::info("VM " + vm_id + ": API on " + config::quoted_text(command->api_sock, 256));
  }
  // Without a VM config: the API configures the VM until InstanceStart (or a stop signal).
  // Its InstanceStart is answered once the monitor runs; a launch that fails on the way answers
  // it with a fault as the launcher leaves (the reason is in the launcher's log).
  std::optional<InstanceStartAnswer> start_answer;
  if (!launch) {
    auto assembled = serve_until_instance_start(*api_process, *vm_api, stop_signals);
    if (!assembled) return kExitUsage;
    launch = std::move(*assembled);
    start_answer.emplace(&*api_process);
  }
  launch->jail.uid = ids->uid();
  launch->jail.gid = ids->gid();

  // Steps disks and devices: the device processes run, jailed, before the monitor starts; the
  // monitor gets its end of each one's socketpair as fd 3, 4, ... (its config says which).
  // Under SELinux the VM's processes may not use the launcher's own stdio: the launcher relays
  // their console and logs through sockets at the VM's level (stdio_relay.h).
  std::optional<jail::StdioRelay> relay;
  if (!svirt->socket_context().empty()) relay.emplace(svirt->socket_context());
  // Launch phase timings (GET /metrics): the device processes, the tenant's files, then the
  // monitor's jail steps (jail.h).
  std::vector<jail::LaunchPhase> launch_phases;
  uint64_t phase_start = jail::monotonic_ns();
  auto devices =
      jail::VmDevices::start(*launch, options, *svirt, run_dir, relay ? &*relay : nullptr, &*logs);
  if (!devices.ok()) {
    log::error(devices.error().message());
    return kExitJailFailed;
  }
  launch_phases.push_back({"device_processes", jail::elapsed_ns(phase_start, jail::monotonic_ns())});
  // Step tpm ("tpm": true, allowed by the host config's "tpm"): the VM's swtpm, jailed, on its
  // persistent state; measured into below, before the monitor starts (jailer/vm_tpm.h).
  std::optional<jail::VmTpm> tpm;
  if (launch->tpm) {
    auto started = jail::VmTpm::start(*launch, options, *svirt, run_dir, &*logs);
    if (!started.ok()) {
      log::error(started.error().message());
      return kExitJailFailed;
    }
    tpm.emplace(std::move(*started));
  }
  constexpr int kFirstMonitorDeviceFd = 3;
  int next_device_fd = kFirstMonitorDeviceFd;
  std::vector<jail::PassedFd> device_fds;
  for (const jail::VmDevices::MonitorEnd& end : devices->monitor_ends()) {
    add_monitor_device(launch->vm, end.kind, next_device_fd);
    device_fds.push_back({end.fd, next_device_fd++});
  }

  // The monitor's control channel (pause, resume, Ctrl-Alt-Del, metrics), a socketpair at the
  // monitor's level like the devices' ones.
  UniqueFd control_launcher_end, control_monitor_end;
  {
    auto pair = jailer::make_labelled_seqpacket_pair(svirt->socket_context());
    if (!pair.ok()) {
      log::error("jail step api: monitor control channel: " + pair.error().message());
      return kExitJailFailed;
    }
    control_launcher_end = std::move(pair->first);
    control_monitor_end = std::move(pair->second);
    launch->vm.control_fd = next_device_fd;
    device_fds.push_back({control_monitor_end.get(), next_device_fd++});
  }

  // The guest's TPM: the monitor's connection to swtpm comes after the measurements (step
  // tpm-link below); its fd number is fixed now, so the measured config and jail profile name it.
  if (tpm) {
    launch->vm.tpm_fd = next_device_fd;
    device_fds.push_back({-1, next_device_fd++});
  }

  options.host_is_emulated = jail::host_kvm_is_emulated();
  jail::JailSpec spec = jail::build_monitor_spec(*launch, options);
  spec.fds.insert(spec.fds.end(), device_fds.begin(), device_fds.end());
  if (!exec_context->empty()) spec.selinux_exec_context = *exec_context;
  if (relay) {
    // The console alone: the monitor's stderr is its log channel, below.
    auto io = relay->add_process(STDOUT_FILENO, STDOUT_FILENO, launch->vm.serial_input);
    if (!io.ok()) {
      log::error("jail step stdio: " + io.error().message());
      return kExitJailFailed;
    }
    for (jail::PassedFd& passed : spec.fds) {
      if (passed.target == STDIN_FILENO) passed.source = io->in;
      if (passed.target == STDOUT_FILENO) passed.source = io->out;
    }
  }
  // Its stderr (never its stdout: the guest console, byte for byte) to the log relay.
  auto monitor_log = logs->add_process("monitor");
  if (!monitor_log.ok()) {
    log::error("jail step logs: " + monitor_log.error().message());
    return kExitJailFailed;
  }
  for (jail::PassedFd& passed : spec.fds) {
    if (passed.target == STDERR_FILENO) passed.source = *monitor_log;
  }
  spec.create_label = svirt->jail_create_label();
  // Step vm-files: the kernel and initrd, opened as the VM user (kept open until the monitor runs).
  phase_start = jail::monotonic_ns();
  auto vm_files = open_vm_inputs(spec);
  if (!vm_files.ok()) {
    log::error(vm_files.error().message());
    return kExitJailFailed;
  }
  if (Status s = label_vm_inputs(*svirt, spec); !s.ok()) {
    log::error(s.error().message());
    return kExitJailFailed;
  }
  launch_phases.push_back({"vm_files", jail::elapsed_ns(phase_start, jail::monotonic_ns())});
  // Step measure: the launch's inputs into the vTPM and its event log, before the monitor runs.
  if (tpm) {
    if (Status s = tpm->measure(spec, *launch, options, *svirt); !s.ok()) {
      log::error(s.error().message());
      return kExitJailFailed;
    }
    // The signed launch report: in the VM's jail for the operator (root:<gid> 0640, like
    // /vm.json) and on GET /attestation.
    if (const auto& report = tpm->report(); report) {
      spec.files.push_back({"/launch-report.json", report->json});
      spec.files.push_back({"/launch-report.sig", std::string(report->signature.begin(), report->signature.end())});
      if (vm_api) vm_api->set_attestation_source([body = jail::attestation_body(*report)]() { return body; });
    }
  }
  UniqueFd tpm_monitor_end;  // held until the monitor has its copy
  if (tpm) {
    auto link = tpm->connect_for_monitor();
    if (!link.ok()) {
      log::error(link.error().message());
      return kExitJailFailed;
    }
    tpm_monitor_end = std::move(*link);
    for (jail::PassedFd& passed : spec.fds) {
      if (passed.target == launch->vm.tpm_fd) passed.source = tpm_monitor_end.get();
    }
  }

  // Opened before the monitor starts so a seccomp kill's kernel record can be found afterwards.
  auto kernel_log = jail::KernelLogCursor::open_at_end();
  if (!kernel_log.ok()) {
    log::warn("seccomp kills will not name the system call: " + kernel_log.error().message());
  }

  // Steps jail-dir .. exec (jail.h).
  auto jailed = jail::run_jailed(spec);
  if (!jailed.ok()) {
    log::error(jailed.error().message());
    return kExitJailFailed;
  }
  log::info("VM " + spec.vm_id + ": monitor running as pid " + std::to_string((*jailed)->pid()));
  devices->close_monitor_ends();
  control_monitor_end.reset();
  tpm_monitor_end.reset();  // the monitor has its copy; swtpm sees one connection
  logs->close_started();
  if (relay) {
    if (Status s = relay->start(); !s.ok()) {
      // The VM would run with nobody reading its console: stop it now.
      log::error("VM " + spec.vm_id + ": " + s.error().message());
      return kExitJailFailed;
    }
  }
  vm_files->clear();  // the monitor's jail has them bound; sVirt keeps its own dups
  if (start_answer) start_answer->succeeded();

  // A stop signal first asks the guest to shut down (Ctrl-Alt-Del through the monitor's control
  // channel); SIGTERM follows after the grace period if it has not ended by then.
  int control_fd = control_launcher_end.get();
  jail::WaitHook api_hook;
  api_hook.on_stop_signal = [&control_fd, &vm_id]() {
    const api::Reply reply = jail::monitor_request(control_fd, api::SendCtrlAltDel{});
    if (reply.status == 204) {
      log::info("VM " + vm_id + ": stop signal: Ctrl-Alt-Del sent to the guest");
      return true;
    }
    log::info("VM " + vm_id + ": stop signal: no Ctrl-Alt-Del (" + reply.body + "); stopping the monitor");
    return false;
  };
  // The API, while the VM runs: each command from bulwark-api answered in turn.
  if (api_process) {
    const std::vector<jail::LaunchPhase>& jail_phases = (*jailed)->launch_phases();
    launch_phases.insert(launch_phases.end(), jail_phases.begin(), jail_phases.end());
    vm_api->set_launch_phases(std::move(launch_phases));
    vm_api->set_running(&*launch, control_launcher_end.get());
    vm_api->set_device_controls(devices->control_fds());
    api_hook.fd = [&api_process]() { return api_process->channel_fd(); };
    api_hook.on_readable = [&api_process, &vm_api]() -> std::optional<jail::StopRequest> {
      auto received = api_process->receive();
      if (!received) return std::nullopt;
      jail::VmApiOutcome outcome = vm_api->handle(*received);
      api_process->reply(outcome.reply);
      return outcome.stop;
    };
  }
  // A device process that dies is replaced within the operator's limit, never after a seccomp
  // kill (device_supervisor.h); the monitor is handed the new one's socket.
  jail::DeviceSupervisor::Hooks supervision_hooks;
  // A short look: the wait loop (and the API) stands still meanwhile.
  supervision_hooks.seccomp_cause = [&kernel_log](pid_t pid) {
    return seccomp_kill_cause(kernel_log, pid, std::chrono::milliseconds(500));
  };
  if (vm_api) {
    supervision_hooks.control_replaced = [&vm_api](const std::string& name, int fd) {
      vm_api->replace_device_control(name, fd);
    };
  }
  jail::DeviceSupervisor supervisor(vm_id, host.device_restart, *devices, control_fd, std::move(supervision_hooks));
  if (vm_api) vm_api->set_supervision_counts([&supervisor]() { return supervisor.counts(); });
  api_hook.on_tick = [&supervisor, &vm_api]() {
    supervisor.check();
    if (vm_api) vm_api->tick();
  };
  int stop_signal = 0;
  const jail::ProcessEnd end =
      (*jailed)->wait(stop_signals, std::chrono::seconds(host.stop_grace_seconds), &stop_signal, &api_hook);
  // Teardown in reverse order; the reservations go last, once nothing of the VM is left. The
  // devices see their sockets close with the monitor and exit on their own.
  if (api_process) api_process->stop(std::chrono::seconds(2));
  devices->stop(std::chrono::seconds(host.stop_grace_seconds));
  if (tpm) tpm->stop(std::chrono::seconds(2));
  if (relay) relay->finish(std::chrono::seconds(2));
  logs->finish(std::chrono::seconds(2));
  if (Status s = (*jailed)->teardown(); !s.ok()) log::error("teardown: " + s.error().message());
  if (Status s = svirt->restore_labels(); !s.ok()) {
    log::error("teardown: " + s.error().message());
  }

  if (!end.exited && end.signal == SIGSYS) {
    log::error("VM " + spec.vm_id + ": monitor killed by seccomp (SIGSYS): " +
               seccomp_kill_cause(kernel_log, (*jailed)->pid()));
  } else if (!end.exited) {
    log::error("VM " + spec.vm_id + ": monitor killed by signal " + std::to_string(end.signal));
  }
  return end.launcher_exit_code();
}

}  // namespace

int main(int argc, char** argv) {
  log::set_program_name("bulwark");
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
#ifdef BULWARK_HAVE_POLICY_CLI
  if (!args.empty() && args[0] == "policy") {
    args.erase(args.begin());
    return policy_cli::run_policy_command(args);
  }
#endif
  if (!args.empty() && args[0] == "attest") {
    args.erase(args.begin());
    return attest_cli::run_attest_command(args);
  }
  if (!args.empty() && args[0] == "vm") {
    args.erase(args.begin());
    return vm_cli::run_vm_command(args);
  }
  if (args.empty() || args[0] != "run") {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  args.erase(args.begin());
  return run(args);
}
