// `bulwark vm ...` (operator's command line; the answers are bulwark-api's, hostile): parses the
// command line, sends one request, and prints the answer checked and escaped.
#include "jailer/vm_cli/vm_command.h"

#include <chrono>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "jailer/vm_cli/api_client.h"
#include "jailer/vm_cli/json_summary.h"
#include "jailer/vm_cli/prometheus_text.h"
#include "jailer/vm_cli/response_json.h"
#include "jailer/vm_cli/terminal_text.h"
#include "monitor/config/message_text.h"

namespace bulwark::vm_cli {

namespace {

using nlohmann::json;

const char kUsage[] =
    "Usage: bulwark vm info|pause|resume|metrics|policy --api-sock PATH [--json] [--timeout-s N]\n"
    "       bulwark vm stop --api-sock PATH [--grace-s N] [--json] [--timeout-s N]\n"
    "\n"
    "Commands to one running VM through its API socket (bulwark-api, Firecracker's API):\n"
    "info     GET /: the VM's id, state and version.\n"
    "pause    PATCH /vm {\"state\": \"Paused\"}: the vCPUs stop running.\n"
    "resume   PATCH /vm {\"state\": \"Resumed\"}.\n"
    "stop     PUT /actions {\"action_type\": \"Shutdown\", \"timeout_s\": N}: the guest is asked to\n"
    "         shut down and is stopped N seconds later if it has not (--grace-s N, 1 to 3600,\n"
    "         default 10).\n"
    "metrics  GET /metrics: the Prometheus text; with --json one JSON object, series -> value.\n"
    "policy   GET /policy: what the VM's processes run with, as an outline; with --json the\n"
    "         JSON document.\n"
    "\n"
    "Options:\n"
    "  --api-sock PATH  the VM's API socket (required; the socket itself: a symbolic link is\n"
    "                   refused, as the socket lies in the VM's jail)\n"
    "  --json           print the answer as JSON (pause, resume, stop: the answer's body, or {}\n"
    "                   when it has none; an error answer: {\"status\": N, \"fault_message\": ...})\n"
    "  --timeout-s N    give up after N seconds for connecting, sending and reading together\n"
    "                   (1 to 3600; default 10, for stop the grace period + 10)\n"
    "\n"
    "The API process is jailed and untrusted: its answers are size-limited, checked, and\n"
    "printed with control characters and invalid UTF-8 escaped.\n"
    "\n"
    "Exit status: 0 success; 1 bad command line; 2 the API answered with an error (its\n"
    "fault_message is printed); 3 no usable answer (cannot connect, timeout, malformed answer).\n";

enum class Action { kInfo, kPause, kResume, kStop, kMetrics, kPolicy };

struct Options {
  Action action = Action::kInfo;
  std::string name;  // "info", ... for messages
  std::string api_sock;
  bool json = false;
  std::optional<uint32_t> timeout_s;
  std::optional<uint32_t> grace_s;
};

constexpr uint32_t kDefaultTimeoutS = 10;
constexpr uint32_t kDefaultGraceS = 10;

// Where the command writes; `name` prefixes every error line.
struct Io {
  std::FILE* out;
  std::FILE* err;
  std::string name;

  void print(const std::string& text) const { std::fwrite(text.data(), 1, text.size(), out); }
  int fail(int code, const std::string& message) const {
    std::fprintf(err, "bulwark vm%s%s: %s\n", name.empty() ? "" : " ", name.c_str(), message.c_str());
    if (code == kVmExitUsage) std::fputs("Try 'bulwark vm --help'.\n", err);
    return code;
  }
};

std::optional<Action> action_named(std::string_view name) {
  if (name == "info") return Action::kInfo;
  if (name == "pause") return Action::kPause;
  if (name == "resume") return Action::kResume;
  if (name == "stop") return Action::kStop;
  if (name == "metrics") return Action::kMetrics;
  if (name == "policy") return Action::kPolicy;
  return std::nullopt;
}

Result<uint32_t> parse_seconds(std::string_view flag, std::string_view text) {
  uint32_t value = 0;
  bool ok = !text.empty() && text.size() <= 4;
  for (char c : text) {
    ok = ok && c >= '0' && c <= '9';
    if (ok) value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (!ok || value < 1 || value > 3600) {
    return Error(std::string(flag) + ": expected an integer from 1 to 3600, got " + config::quoted_text(text));
  }
  return value;
}

Result<Options> parse_options(std::string_view name, const std::vector<std::string_view>& args) {
  Options options;
  options.action = *action_named(name);
  options.name = std::string(name);
  bool have_sock = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    const bool takes_value = arg == "--api-sock" || arg == "--timeout-s" || arg == "--grace-s";
    if (takes_value && i + 1 >= args.size()) return Error(std::string(arg) + " needs a value");
    if (arg == "--json") {
      options.json = true;
    } else if (arg == "--api-sock") {
      options.api_sock = std::string(args[++i]);
      have_sock = true;
    } else if (arg == "--timeout-s") {
      auto seconds = parse_seconds(arg, args[++i]);
      if (!seconds.ok()) return seconds.error();
      options.timeout_s = *seconds;
    } else if (arg == "--grace-s" && options.action == Action::kStop) {
      auto seconds = parse_seconds(arg, args[++i]);
      if (!seconds.ok()) return seconds.error();
      options.grace_s = *seconds;
    } else if (arg.starts_with("-")) {
      return Error("unknown option " + config::quoted_text(arg));
    } else {
      return Error("unexpected argument " + config::quoted_text(arg));
    }
  }
  if (!have_sock) return Error("--api-sock PATH is required");
  BULWARK_TRY(check_socket_path(options.api_sock));
  return options;
}

ApiRequest request_for(const Options& options) {
  switch (options.action) {
    case Action::kInfo: return {"GET", "/", ""};
    case Action::kPause: return {"PATCH", "/vm", R"({"state":"Paused"})"};
    case Action::kResume: return {"PATCH", "/vm", R"({"state":"Resumed"})"};
    case Action::kStop: {
      const json body = {{"action_type", "Shutdown"}, {"timeout_s", options.grace_s.value_or(kDefaultGraceS)}};
      return {"PUT", "/actions", body.dump()};
    }
    case Action::kMetrics: return {"GET", "/metrics", ""};
    case Action::kPolicy: return {"GET", "/policy", ""};
  }
  return {};
}

std::chrono::seconds timeout_for(const Options& options) {
  if (options.timeout_s) return std::chrono::seconds(*options.timeout_s);
  if (options.action == Action::kStop) {
    return std::chrono::seconds(options.grace_s.value_or(kDefaultGraceS) + kDefaultTimeoutS);
  }
  return std::chrono::seconds(kDefaultTimeoutS);
}

// Each line escaped on its own, so the text keeps its line structure and nothing else.
std::string escaped_lines(std::string_view text) {
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    out += terminal_text(text.substr(start, end - start)) + "\n";
    start = end + 1;
  }
  return out;
}

int print_fault(const Options& options, const Io& io, const ApiResponse& response) {
  const std::string message = fault_message_of(response.body);
  if (options.json) io.print(dump_response_json({{"status", response.status}, {"fault_message", message}}));
  const std::string status = std::to_string(response.status);
  if (message.empty()) return io.fail(kVmExitApiError, "the API answered " + status + " without a fault message");
  return io.fail(kVmExitApiError, "the API answered " + status + ": " + terminal_text(message));
}

int print_info(const Options& options, const Io& io, const json& info) {
  if (options.json) {
    io.print(dump_response_json(info));
    return kVmExitOk;
  }
  auto field = [&info](const char* key) -> std::optional<std::string> {
    if (!info.is_object()) return std::nullopt;
    auto it = info.find(key);
    if (it == info.end() || !it->is_string()) return std::nullopt;
    return terminal_text(it->get_ref<const std::string&>());
  };
  const auto id = field("id"), state = field("state"), version = field("vmm_version");
  if (!id || !state) {
    return io.fail(kVmExitNoAnswer, "malformed answer: GET / gave no string \"id\" and \"state\"");
  }
  io.print("id:      " + *id + "\nstate:   " + *state + "\nversion: " + version.value_or("(not given)") + "\n");
  return kVmExitOk;
}

int print_success(const Options& options, const Io& io, const ApiResponse& response) {
  if (options.action == Action::kMetrics) {
    if (!options.json) {
      io.print(escaped_lines(response.body));
      return kVmExitOk;
    }
    auto metrics = prometheus_text_to_json(response.body);
    if (!metrics.ok()) return io.fail(kVmExitNoAnswer, "malformed answer: " + metrics.error().message());
    io.print(dump_response_json(*metrics));
    return kVmExitOk;
  }
  const bool no_body = response.body.empty();
  const bool state_change = options.action == Action::kPause || options.action == Action::kResume ||
                            options.action == Action::kStop;
  if (state_change && !options.json) {
    if (options.action == Action::kStop) {
      io.print("shutdown requested; the VM is stopped in at most " +
               std::to_string(options.grace_s.value_or(kDefaultGraceS)) + " s\n");
    } else {
      io.print(options.action == Action::kPause ? "paused\n" : "resumed\n");
    }
    return kVmExitOk;
  }
  if (state_change && no_body) {
    io.print("{}\n");
    return kVmExitOk;
  }
  auto body = parse_response_json(response.body);
  if (!body.ok()) return io.fail(kVmExitNoAnswer, "malformed answer: " + body.error().message());
  if (options.action == Action::kInfo) return print_info(options, io, *body);
  io.print(options.json || state_change ? dump_response_json(*body) : render_json_summary(*body));
  return kVmExitOk;
}

}  // namespace

int run_vm_command(const std::vector<std::string_view>& args, std::FILE* out, std::FILE* err) {
  Io io{out, err, ""};
  if (args.empty()) {
    std::fputs(kUsage, err);
    return kVmExitUsage;
  }
  const std::string_view name = args[0];
  if (name == "--help" || name == "-h" || name == "help") {
    std::fputs(kUsage, out);
    return kVmExitOk;
  }
  if (!action_named(name)) {
    return io.fail(kVmExitUsage, "unknown command " + config::quoted_text(name) +
                                     " (info, pause, resume, stop, metrics or policy)");
  }
  io.name = std::string(name);
  const std::vector<std::string_view> rest(args.begin() + 1, args.end());
  for (std::string_view arg : rest) {
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, out);
      return kVmExitOk;
    }
  }
  auto options = parse_options(name, rest);
  if (!options.ok()) return io.fail(kVmExitUsage, options.error().message());

  auto response = call_api(options->api_sock, request_for(*options), timeout_for(*options));
  if (!response.ok()) return io.fail(kVmExitNoAnswer, response.error().message());
  if (response->status < 200 || response->status > 299) return print_fault(*options, io, *response);
  return print_success(*options, io, *response);
}

int run_vm_command(const std::vector<std::string_view>& args) { return run_vm_command(args, stdout, stderr); }

}  // namespace bulwark::vm_cli
