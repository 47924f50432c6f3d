// bulwark-api: Firecracker's HTTP/JSON API on a unix socket, jailed, turning each API client's
// request into a typed command for the launcher (api/README.md). Started by the launcher with
// fd 3, the listening API socket, and fd 4, the SOCK_SEQPACKET command channel; it installs
// policy/seccomp/api.policy on itself before it reads a byte from a client.
#include <cstdio>
#include <span>
#include <string>

#include "api/server/api_server.h"
#include "bulwark/common/log.h"
#include "devices/backend/device_process.h"

// Leak checking at exit needs ptrace, which the seccomp policy forbids (sanitizer builds).
extern "C" const char* __lsan_default_options() { return "detect_leaks=0"; }  // NOLINT

namespace {

constexpr int kListenerFd = 3;
constexpr int kLauncherFd = 4;

int usage(const std::string& why) {
  std::fprintf(stderr,
               "bulwark-api: %s\nusage: bulwark-api [--seccomp enforce|log|off|record] [--seccomp-policy-dir DIR]\n"
               "  fd 3: the listening API socket; fd 4: the command channel to the launcher\n",
               why.c_str());
  return bulwark::backend::kDeviceExitUsage;
}

int api_main(int argc, char** argv) {
  using namespace bulwark;
  const std::span<char* const> args(argv, static_cast<size_t>(argc));
  backend::DeviceProcessOptions options;
  for (size_t i = 1; i < args.size();) {
    auto used = backend::parse_common_option(options, args, i);
    if (!used.ok()) return usage(used.error().message());
    if (*used == 0) return usage(std::string("unknown option ") + args[i]);
    i += *used;
  }
  if (options.socket_fd >= 0 || !options.socket_path.empty()) {
    return usage("--socket-fd and --socket are for device processes; bulwark-api's sockets are fds 3 and 4");
  }

  auto server = api::ApiServer::create(UniqueFd(kListenerFd), UniqueFd(kLauncherFd));
  if (!server.ok()) return backend::exit_for_startup_error(server.error());
  if (Status sandboxed = backend::install_device_seccomp(options, "api.policy"); !sandboxed.ok()) {
    return backend::exit_for_startup_error(sandboxed.error());
  }
  if (Status served = server->run(); !served.ok()) {
    log::error(served.error().message());
    return backend::kDeviceExitFailed;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  bulwark::log::set_program_name("bulwark-api");
  return bulwark::backend::run_device_main(api_main, argc, argv);
}
