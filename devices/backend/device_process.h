// What every device process's main() shares: the common command-line options, the connection
// to the frontend (an inherited socket fd, or a unix socket path for tests and interop), the
// seccomp policy the process installs on itself, and serving the frontend.
#pragma once

#include <chrono>
#include <cstddef>
#include <span>
#include <string>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"
#include "devices/backend/virtio_device.h"

namespace bulwark::backend {

enum class SeccompMode { kEnforce, kLog, kOff, kRecord };

// Every device process's exit codes (devices/README.md).
inline constexpr int kDeviceExitDisconnected = 0;       // the frontend disconnected
inline constexpr int kDeviceExitFailed = 1;             // protocol error or failed start-up
inline constexpr int kDeviceExitUsage = 2;              // bad command line
inline constexpr int kDeviceExitResourceExhausted = 3;  // fds, memory or threads ran out (named)

struct DeviceProcessOptions {
  int socket_fd = -1;       // --socket-fd N: a connected socket inherited from the launcher
  std::string socket_path;  // --socket PATH: listen there and accept one frontend
  // --control-fd N: the launcher's control channel (devices/README.md, "Control channel"); the
  // launcher alone passes it (jailer/device_spec.cc), never anything a tenant's config names.
  int control_fd = -1;
  SeccompMode seccomp = SeccompMode::kEnforce;
  std::string seccomp_policy_dir;  // empty: the source tree's policy/seccomp
};

// The options every device takes, for the usage text.
inline constexpr const char* kCommonUsage =
    "--socket-fd N | --socket PATH [--control-fd N] [--seccomp enforce|log|off|record] [--seccomp-policy-dir DIR]";

// Parses the common option at args[i] (and its value). Returns how many arguments it used:
// 0 when args[i] is not a common option (the device parses it).
Result<size_t> parse_common_option(DeviceProcessOptions& options, std::span<char* const> args, size_t i);
// Exactly one of --socket-fd and --socket.
Status check_common_options(const DeviceProcessOptions& options);
// A device option's value: args[i + 1], or an error naming the option.
Result<std::string> option_value(std::span<char* const> args, size_t i);

// The connected frontend: the inherited fd (checked to be a socket), or the one frontend
// accepted on `socket_path` (the path is unlinked once it connected).
Result<UniqueFd> connect_frontend(const DeviceProcessOptions& options);

// Loads `policy_file` from the policy directory and installs it on this process (default
// action kill-process; log with --seccomp log; nothing with --seccomp off).
Status install_device_seccomp(const DeviceProcessOptions& options, const std::string& policy_file);

const char* default_seccomp_policy_dir();

// Logs a start-up failure. Returns kDeviceExitResourceExhausted, with the resource named, when
// the failed call's errno says a host resource ran out (EMFILE, ENFILE, ENOMEM), else
// kDeviceExitFailed.
int exit_for_startup_error(const Error& error);

// A device's whole main(): an escaping std::bad_alloc or resource std::system_error ends in a
// message and kDeviceExitResourceExhausted instead of std::terminate's SIGABRT.
int run_device_main(int (*body)(int, char**), int argc, char** argv);

// Serves the frontend until it disconnects. The process's exit code: 0 after a clean
// disconnect, 1 after a protocol error.
// `poll_max`: the longest the loop busy-polls the rings before blocking (0: never; see
// BackendServer::set_poll_max).
// `control`: the launcher's control channel (control_channel()), served between requests.
int serve_frontend(UniqueFd socket, VirtioDevice& device, std::chrono::nanoseconds poll_max = {},
                   UniqueFd control = UniqueFd());

// The --control-fd socket (checked to be one), or an invalid fd without the option.
Result<UniqueFd> control_channel(const DeviceProcessOptions& options);

}  // namespace bulwark::backend
