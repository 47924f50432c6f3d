#include "jailer/policy_cli/policy_command.h"

#include "jailer/config_files.h"

#include <cstdio>
#include <optional>
#include <string>

#include "jailer/policy_cli/policy_check.h"
#include "jailer/policy_cli/policy_diff.h"
#include "jailer/policy_cli/policy_minimality.h"
#include "jailer/policy_cli/policy_tree.h"
#include "jailer/policy_cli/process_profile.h"
#include "jailer/policy_cli/syscall_recorder.h"
#include "jailer/policy_cli/syscall_usage.h"

namespace bulwark::policy_cli {

namespace {

const char kUsage[] =
    "Usage: bulwark policy show [--json] [--policy-dir DIR] [--selinux-dir DIR] [--host-config FILE]\n"
    "       bulwark policy diff OLD_DIR NEW_DIR\n"
    "       bulwark policy check [--policy-dir DIR]\n"
    "       bulwark policy record --out FILE [--append] -- COMMAND [ARG...]\n"
    "       bulwark policy minimality --usage FILE [--policy-dir DIR]\n"
    "\n"
    "show   For each process kind (launcher, monitor main thread, monitor vCPU threads,\n"
    "       bulwark-dev-blk, bulwark-dev-rng, bulwark-dev-net, bulwark-dev-vsock, bulwark-api): its\n"
    "       seccomp rules\n"
    "       with argument conditions, reasons and FILE:LINE (includes resolved), SELinux domain\n"
    "       and what it may access (allow and allowxperm rules of selinux/bulwark.te),\n"
    "       namespaces, capabilities, securebits, no_new_privs, dumpable, rlimits, cgroup\n"
    "       limits, jail root, /dev and open fds. Computed from the launcher's own code for a\n"
    "       512 MiB VM with one disk, an rng, one NIC (one queue pair) and its API process.\n"
    "       --json prints the same as one JSON document.\n"
    "diff   Compares two trees of policy files (each holding seccomp/*.policy and optionally\n"
    "       selinux/*.te, or each a seccomp policy directory): per process kind and thread,\n"
    "       system calls added and removed, argument conditions loosened or tightened, reasons\n"
    "       changed; SELinux allow rules and interface calls added and removed. Every change\n"
    "       that lets a process do more is flagged 'WIDENING:'.\n"
    "check  Lints every *.policy file: malformed lines, unknown system calls, missing reasons,\n"
    "       duplicates, include cycles and missing includes, a thread policy repeating a\n"
    "       call of the file it includes, a call allowed with any arguments in one file but\n"
    "       only under a condition in another. Reports all of them as FILE:LINE.\n"
    "record Runs COMMAND (typically `bulwark run --seccomp-record ...` or `bulwark-monitor\n"
    "       --seccomp record ...`) and every process it starts under ptrace; processes whose\n"
    "       policy is installed in record mode report each system call with the rule\n"
    "       alternative that allowed it (or none). Counts go to FILE (--append adds to it).\n"
    "       Exits with COMMAND's status. Testing only: in record mode nothing is refused.\n"
    "minimality  Reads recorded usage and lists per process policy what was allowed but never\n"
    "       used. Each such rule or alternative needs an `@unexercised` reason in its file\n"
    "       (policy/seccomp/FORMAT.md); reasons on used calls, calls no rule allows, and a\n"
    "       policy nothing ran under are findings too.\n"
    "\n"
    "DIR is a policy tree (holding seccomp/ and selinux/) or a seccomp policy directory;\n"
    "default: " BULWARK_POLICY_CLI_DEFAULT_DIR ".\n"
    "\n"
    "Exit status: 0 ok (diff: no change or only narrowings); 1 error; 2 check or minimality\n"
    "found problems; 3 diff found a widening; record: COMMAND's.\n";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "bulwark policy: %s\nTry 'bulwark policy --help'.\n", message.c_str());
  return kPolicyExitError;
}

// --policy-dir DIR and --selinux-dir DIR to the directories to read.
Result<ShowOptions> resolve_dirs(const std::optional<std::string>& policy_dir,
                                 const std::optional<std::string>& selinux_dir) {
  auto tree = locate_policy_tree(policy_dir.value_or(BULWARK_POLICY_CLI_DEFAULT_DIR));
  if (!tree.ok()) return tree.error();
  ShowOptions options;
  options.seccomp_dir = tree->seccomp_dir;
  options.selinux_dir = tree->selinux_dir;
  if (!options.selinux_dir) {
    // A seccomp directory given directly: its sibling selinux/, as in the source tree.
    auto parent = locate_policy_tree(tree->seccomp_dir + "/..");
    if (parent.ok() && parent->selinux_dir) options.selinux_dir = parent->selinux_dir;
  }
  if (selinux_dir) options.selinux_dir = *selinux_dir;
  return options;
}

struct Flags {
  bool json = false;
  std::optional<std::string> host_config;
  std::optional<std::string> policy_dir;
  std::optional<std::string> selinux_dir;
  std::vector<std::string> positional;
};

Result<Flags> parse_flags(const std::vector<std::string_view>& args, bool allow_json, bool allow_selinux) {
  Flags flags;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (arg == "--json" && allow_json) {
      flags.json = true;
    } else if (arg == "--host-config" && allow_json) {
      if (i + 1 >= args.size()) return Error("--host-config needs a file");
      flags.host_config = std::string(args[++i]);
    } else if (arg == "--policy-dir" || (arg == "--selinux-dir" && allow_selinux)) {
      if (i + 1 >= args.size()) return Error(std::string(arg) + " needs a directory");
      (arg == "--policy-dir" ? flags.policy_dir : flags.selinux_dir) = std::string(args[++i]);
    } else if (arg.starts_with("--")) {
      return Error("unknown option '" + std::string(arg) + "'");
    } else {
      flags.positional.emplace_back(arg);
    }
  }
  return flags;
}

int run_show(const std::vector<std::string_view>& args) {
  auto flags = parse_flags(args, true, true);
  if (!flags.ok()) return usage_error(flags.error().message());
  if (!flags->positional.empty()) return usage_error("show takes no arguments besides its options");
  auto options = resolve_dirs(flags->policy_dir, flags->selinux_dir);
  if (!options.ok()) return usage_error(options.error().message());
  nlohmann::json profiles = build_process_profiles(*options);
  // The operator's ceilings and ranges in effect for every VM this host launches.
  bool found = false;
  const std::string host_path = flags->host_config.value_or(jail::kDefaultHostConfigPath);
  auto host = jail::load_host_config(host_path, flags->host_config.has_value(), &found);
  if (!host.ok()) return usage_error(host.error().message());
  const std::string source = found ? "host config " + host_path : "built-in defaults (no " + host_path + ")";
  const std::string settings = jail::describe_host_config(*host);
  if (flags->json) {
    profiles["operator_settings"] = {{"source", source}, {"text", settings}};
  }
  std::string out = flags->json ? profiles.dump(2) + "\n" : render_profiles_text(profiles);
  if (!flags->json) out += "\nOperator settings in effect (" + source + "):\n" + settings;
  std::fputs(out.c_str(), stdout);
  return kPolicyExitOk;
}

int run_diff(const std::vector<std::string_view>& args) {
  auto flags = parse_flags(args, false, false);
  if (!flags.ok()) return usage_error(flags.error().message());
  if (flags->positional.size() != 2 || flags->policy_dir) return usage_error("diff needs OLD_DIR and NEW_DIR");
  auto report = diff_policy_trees(flags->positional[0], flags->positional[1]);
  if (!report.ok()) {
    std::fprintf(stderr, "bulwark policy diff: %s\n", report.error().message().c_str());
    return kPolicyExitError;
  }
  std::string out;
  for (const std::string& line : report->lines) out += line + "\n";
  if (!report->changed) out += "no changes\n";
  std::fputs(out.c_str(), stdout);
  return report->widening ? kPolicyExitWidening : kPolicyExitOk;
}

int run_check(const std::vector<std::string_view>& args) {
  auto flags = parse_flags(args, false, false);
  if (!flags.ok()) return usage_error(flags.error().message());
  if (!flags->positional.empty()) return usage_error("check takes no arguments besides --policy-dir");
  auto options = resolve_dirs(flags->policy_dir, std::nullopt);
  if (!options.ok()) return usage_error(options.error().message());
  auto report = check_policy_dir(options->seccomp_dir);
  if (!report.ok()) {
    std::fprintf(stderr, "bulwark policy check: %s\n", report.error().message().c_str());
    return kPolicyExitError;
  }
  std::fputs(render_check_report(*report).c_str(), stdout);
  return report->findings.empty() ? kPolicyExitOk : kPolicyExitFindings;
}

int run_record(const std::vector<std::string_view>& args) {
  std::optional<std::string> out;
  bool append = false;
  size_t i = 0;
  for (; i < args.size() && args[i] != "--"; ++i) {
    if (args[i] == "--append") {
      append = true;
    } else if (args[i] == "--out" && i + 1 < args.size()) {
      out = std::string(args[++i]);
    } else {
      return usage_error("record: unexpected '" + std::string(args[i]) + "' (--out FILE [--append] -- COMMAND)");
    }
  }
  if (!out) return usage_error("record needs --out FILE");
  if (i + 1 >= args.size()) return usage_error("record needs '--' and the command to run");
  SyscallUsage usage;
  if (append && is_regular_file(*out)) {
    auto text = read_text_file(*out);
    if (!text.ok()) return usage_error(text.error().message());
    if (Status parsed = parse_syscall_usage(*text, usage); !parsed.ok()) {
      return usage_error(*out + ": " + parsed.error().message());
    }
  }
  const std::vector<std::string> command(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
  auto run = record_syscalls(command, usage);
  if (!run.ok()) {
    std::fprintf(stderr, "bulwark policy record: %s\n", run.error().message().c_str());
    return kPolicyExitError;
  }
  std::FILE* file = std::fopen(out->c_str(), "w");
  const std::string text = format_syscall_usage(usage);
  const bool written = file && std::fwrite(text.data(), 1, text.size(), file) == text.size();
  if (file && std::fclose(file) != 0) file = nullptr;
  if (!written || !file) {
    std::fprintf(stderr, "bulwark policy record: cannot write %s\n", out->c_str());
    return kPolicyExitError;
  }
  std::fprintf(stderr, "bulwark policy record: %llu record-mode stops; usage in %s\n",
               static_cast<unsigned long long>(run->stops), out->c_str());
  return run->exit_status;
}

int run_minimality(const std::vector<std::string_view>& args) {
  std::optional<std::string> usage_path;
  std::vector<std::string_view> rest;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--usage" && i + 1 < args.size()) {
      usage_path = std::string(args[++i]);
    } else {
      rest.push_back(args[i]);
    }
  }
  auto flags = parse_flags(rest, false, false);
  if (!flags.ok()) return usage_error(flags.error().message());
  if (!usage_path || !flags->positional.empty()) return usage_error("minimality needs --usage FILE");
  auto options = resolve_dirs(flags->policy_dir, std::nullopt);
  if (!options.ok()) return usage_error(options.error().message());
  auto text = read_text_file(*usage_path);
  if (!text.ok()) return usage_error(text.error().message());
  SyscallUsage usage;
  if (Status parsed = parse_syscall_usage(*text, usage); !parsed.ok()) {
    return usage_error(*usage_path + ": " + parsed.error().message());
  }
  auto report = check_minimality(options->seccomp_dir, usage);
  if (!report.ok()) {
    std::fprintf(stderr, "bulwark policy minimality: %s\n", report.error().message().c_str());
    return kPolicyExitError;
  }
  std::fputs(render_minimality_report(*report).c_str(), stdout);
  return report->findings.empty() ? kPolicyExitOk : kPolicyExitFindings;
}

}  // namespace

int run_policy_command(const std::vector<std::string_view>& args) {
  if (args.empty()) {
    std::fputs(kUsage, stderr);
    return kPolicyExitError;
  }
  const std::string_view command = args[0];
  const std::vector<std::string_view> rest(args.begin() + 1, args.end());
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(kUsage, stdout);
    return kPolicyExitOk;
  }
  if (command == "show") return run_show(rest);
  if (command == "diff") return run_diff(rest);
  if (command == "check") return run_check(rest);
  if (command == "record") return run_record(rest);
  if (command == "minimality") return run_minimality(rest);
  return usage_error("unknown command '" + std::string(command) + "' (show, diff, check, record or minimality)");
}

}  // namespace bulwark::policy_cli
