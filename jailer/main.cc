// bulwark: the privileged launcher. `bulwark run vm.json` validates the whole config, builds the
// monitor's jail (jail.h), waits for the VM to end whatever way it ends, tears the jail down and
// exits with the monitor's exit code (128 + signal when the monitor was killed).
// It never maps or reads guest memory.
#include <signal.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/common/log.h"
#include "jailer/jail.h"
#include "jailer/jail_config.h"
#include "jailer/monitor_spec.h"
#include "jailer/vm_id.h"
#include "monitor/config/message_text.h"

namespace {

using namespace bulwark;

constexpr int kExitUsage = 1;       // bad command line or config: nothing was created
constexpr int kExitJailFailed = 9;  // a jail step failed: everything made so far was removed
constexpr size_t kMaxConfigBytes = 1 << 20;

const char kUsage[] =
    "Usage: bulwark run [options] CONFIG.json\n"
    "\n"
    "Starts bulwark-monitor for the VM in CONFIG.json inside a jail (namespaces, pivot_root,\n"
    "cgroup limits, the VM's own uid/gid, no capabilities) and waits for it.\n"
    "CONFIG.json: the monitor's config plus a \"jail\" object (see jailer/README.md).\n"
    "\n"
    "Options (override the config's \"jail\" fields):\n"
    "  --id ID  --uid N  --gid N  --base-dir DIR  --cgroup-parent PATH  --netns NAME\n"
    "Operator options:\n"
    "  --monitor PATH             bulwark-monitor binary (default: " BULWARK_DEFAULT_MONITOR ")\n"
    "  --seccomp-policy-dir DIR   the monitor's policy files (default: " BULWARK_DEFAULT_POLICY_DIR ")\n"
    "  --cgroup-root DIR          cgroup mount (default: /sys/fs/cgroup)\n"
    "  --stop-grace-seconds N     SIGTERM to SIGKILL delay on shutdown (default: 10)\n"
    "\n"
    "Exit status: the monitor's; 128+N if it was killed by signal N; 1 bad command line or\n"
    "config; 9 the jail could not be set up.\n";

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::from_errno("cannot read config file " + path, errno);
  std::string text;
  char chunk[4096];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    text.append(chunk, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxConfigBytes) return Error("config file " + path + " is larger than 1 MiB");
  }
  return text;
}

Result<uint32_t> parse_id_number(std::string_view flag, std::string_view text) {
  uint64_t value = 0;
  bool ok = !text.empty() && text.size() <= 10;
  for (char c : text) {
    ok = ok && c >= '0' && c <= '9';
    if (ok) value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (!ok || value < 1 || value > jail::kMaxVmUid) {
    return Error(std::string(flag) + ": expected an integer from 1 to 2147483646, got " +
                 config::quoted_text(text));
  }
  return static_cast<uint32_t>(value);
}

struct RunCommand {
  std::string config_path;
  std::vector<std::pair<std::string, std::string>> overrides;
  jail::MonitorLaunchOptions options;
  int grace_seconds = 10;
};

Result<RunCommand> parse_run_args(const std::vector<std::string_view>& args) {
  RunCommand command;
  command.options.monitor_path = BULWARK_DEFAULT_MONITOR;
  command.options.seccomp_policy_dir = BULWARK_DEFAULT_POLICY_DIR;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (!arg.starts_with("--")) {
      if (!command.config_path.empty()) return Error("more than one config file given");
      command.config_path = std::string(arg);
      continue;
    }
    if (i + 1 >= args.size()) return Error(std::string(arg) + ": needs a value");
    const std::string value(args[++i]);
    if (arg == "--monitor") {
      command.options.monitor_path = value;
    } else if (arg == "--seccomp-policy-dir") {
      command.options.seccomp_policy_dir = value;
    } else if (arg == "--cgroup-root") {
      command.options.cgroup_root = value;
    } else if (arg == "--stop-grace-seconds") {
      auto n = parse_id_number(arg, value);
      if (!n.ok() || *n > 3600) return Error("--stop-grace-seconds: expected 1 to 3600");
      command.grace_seconds = static_cast<int>(*n);
    } else if (arg == "--id" || arg == "--uid" || arg == "--gid" || arg == "--base-dir" ||
               arg == "--cgroup-parent" || arg == "--netns") {
      command.overrides.emplace_back(std::string(arg), value);
    } else {
      return Error("unknown option " + config::quoted_text(arg));
    }
  }
  if (command.config_path.empty()) return Error("no config file given");
  return command;
}

Status apply_overrides(const RunCommand& command, jail::LaunchConfig& launch) {
  jail::JailSettings& settings = launch.jail;
  for (const auto& [flag, value] : command.overrides) {
    if (flag == "--id") {
      settings.id = value;
    } else if (flag == "--uid" || flag == "--gid") {
      auto n = parse_id_number(flag, value);
      if (!n.ok()) return n.error();
      (flag == "--uid" ? settings.uid : settings.gid) = *n;
    } else if (flag == "--base-dir") {
      settings.base_dir = value;
    } else if (flag == "--cgroup-parent") {
      settings.cgroup_parent = value;
    } else if (flag == "--netns") {
      settings.netns = value;
    }
  }
  return jail::validate_launch_config(launch);
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
  auto text = read_file(command->config_path);
  if (!text.ok()) {
    log::error(text.error().message());
    return kExitUsage;
  }
  // The whole config is checked before anything is created.
  auto launch = jail::parse_launch_config(*text);
  if (!launch.ok()) {
    log::error(launch.error().message());
    return kExitUsage;
  }
  if (Status s = apply_overrides(*command, *launch); !s.ok()) {
    log::error(s.error().message());
    return kExitUsage;
  }
  command->options.host_is_emulated = jail::host_kvm_is_emulated();
  const jail::JailSpec spec = jail::build_monitor_spec(*launch, command->options);

  auto jailed = jail::run_jailed(spec);
  if (!jailed.ok()) {
    log::error(jailed.error().message());
    return kExitJailFailed;
  }
  log::info("VM " + spec.vm_id + ": monitor running as pid " + std::to_string((*jailed)->pid()));

  int stop_signal = 0;
  const jail::ProcessEnd end =
      (*jailed)->wait(stop_signals, std::chrono::seconds(command->grace_seconds), &stop_signal);
  if (Status s = (*jailed)->teardown(); !s.ok()) log::error("teardown: " + s.error().message());

  if (!end.exited && end.signal == SIGSYS) {
    log::error("VM " + spec.vm_id + ": monitor killed by seccomp (SIGSYS)");
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
  if (args.empty() || args[0] != "run") {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  args.erase(args.begin());
  return run(args);
}
