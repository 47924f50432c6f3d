#include "jailer/policy_cli/policy_command.h"

#include <cstdio>
#include <optional>
#include <string>

#include "jailer/policy_cli/policy_check.h"
#include "jailer/policy_cli/policy_diff.h"
#include "jailer/policy_cli/policy_tree.h"
#include "jailer/policy_cli/process_profile.h"

namespace bulwark::policy_cli {

namespace {

const char kUsage[] =
    "Usage: bulwark policy show [--json] [--policy-dir DIR] [--selinux-dir DIR]\n"
    "       bulwark policy diff OLD_DIR NEW_DIR\n"
    "       bulwark policy check [--policy-dir DIR]\n"
    "\n"
    "show   For each process kind (launcher, monitor main thread, monitor vCPU threads,\n"
    "       bulwark-dev-blk, bulwark-dev-rng): its seccomp rules with argument conditions,\n"
    "       reasons and FILE:LINE (includes resolved), SELinux domain and what it may access\n"
    "       (allow rules of selinux/bulwark.te), namespaces, capabilities, securebits,\n"
    "       no_new_privs, dumpable, rlimits, cgroup limits, jail root, /dev and open fds.\n"
    "       Computed from the launcher's own code for a 512 MiB VM with one disk and an rng.\n"
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
    "\n"
    "DIR is a policy tree (holding seccomp/ and selinux/) or a seccomp policy directory;\n"
    "default: " BULWARK_POLICY_CLI_DEFAULT_DIR ".\n"
    "\n"
    "Exit status: 0 ok (diff: no change or only narrowings); 1 error; 2 check found\n"
    "problems; 3 diff found a widening.\n";

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
  const nlohmann::json profiles = build_process_profiles(*options);
  const std::string out = flags->json ? profiles.dump(2) + "\n" : render_profiles_text(profiles);
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
  return usage_error("unknown command '" + std::string(command) + "' (show, diff or check)");
}

}  // namespace bulwark::policy_cli
