#include "devices/backend/device_process.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string_view>

#include "bulwark/common/log.h"
#include "bulwark/common/resource_exhaustion.h"
#include "devices/backend/backend_server.h"
#include "policy/seccomp_policy/policy_apply.h"
#include "policy/seccomp_policy/policy_loader.h"

namespace bulwark::backend {

namespace {

Result<int> parse_fd(std::string_view text, const std::string& option) {
  int value = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) {
    return Error(option + ": '" + std::string(text) + "' is not a file descriptor number");
  }
  return value;
}

Result<UniqueFd> accept_on_path(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(address.sun_path)) {
    return Error("--socket: path '" + path + "' is empty or too long for a unix socket");
  }
  std::memcpy(address.sun_path, path.data(), path.size());
  UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener.valid()) return Error::from_errno("socket", errno);
  if (::bind(listener.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    return Error::from_errno("bind " + path, errno);
  }
  if (::listen(listener.get(), 1) != 0) {
    ::unlink(path.c_str());
    return Error::from_errno("listen on " + path, errno);
  }
  int accepted;
  do {
    accepted = ::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC);
  } while (accepted < 0 && errno == EINTR);
  const int saved_errno = errno;
  ::unlink(path.c_str());
  if (accepted < 0) return Error::from_errno("accept on " + path, saved_errno);
  return UniqueFd(accepted);
}

}  // namespace

const char* default_seccomp_policy_dir() { return BULWARK_DEFAULT_SECCOMP_POLICY_DIR; }

Result<std::string> option_value(std::span<char* const> args, size_t i) {
  if (i + 1 >= args.size() || args[i + 1] == nullptr) return Error(std::string(args[i]) + " needs a value");
  return std::string(args[i + 1]);
}

Result<size_t> parse_common_option(DeviceProcessOptions& options, std::span<char* const> args, size_t i) {
  const std::string_view flag = args[i];
  if (flag != "--socket-fd" && flag != "--socket" && flag != "--seccomp" && flag != "--seccomp-policy-dir" &&
      flag != "--control-fd") {
    return size_t{0};
  }
  auto value = option_value(args, i);
  if (!value.ok()) return value.error();
  if (flag == "--socket-fd") {
    auto fd = parse_fd(*value, "--socket-fd");
    if (!fd.ok()) return fd.error();
    options.socket_fd = *fd;
  } else if (flag == "--control-fd") {
    auto fd = parse_fd(*value, "--control-fd");
    if (!fd.ok()) return fd.error();
    options.control_fd = *fd;
  } else if (flag == "--socket") {
    options.socket_path = *value;
  } else if (flag == "--seccomp") {
    if (*value == "enforce") {
      options.seccomp = SeccompMode::kEnforce;
    } else if (*value == "log") {
      options.seccomp = SeccompMode::kLog;
    } else if (*value == "off") {
      options.seccomp = SeccompMode::kOff;
    } else if (*value == "record") {
      options.seccomp = SeccompMode::kRecord;
    } else {
      return Error("--seccomp: '" + *value + "' is not enforce, log, off or record");
    }
  } else {
    options.seccomp_policy_dir = *value;
  }
  return size_t{2};
}

Status check_common_options(const DeviceProcessOptions& options) {
  const bool has_fd = options.socket_fd >= 0;
  const bool has_path = !options.socket_path.empty();
  if (has_fd == has_path) return Error("exactly one of --socket-fd and --socket is needed");
  return ok_status();
}

Result<UniqueFd> connect_frontend(const DeviceProcessOptions& options) {
  if (!options.socket_path.empty()) return accept_on_path(options.socket_path);
  struct stat st{};
  if (::fstat(options.socket_fd, &st) != 0) {
    return Error::from_errno("--socket-fd " + std::to_string(options.socket_fd), errno);
  }
  if (!S_ISSOCK(st.st_mode)) return Error("--socket-fd " + std::to_string(options.socket_fd) + " is not a socket");
  return UniqueFd(options.socket_fd);
}

Status install_device_seccomp(const DeviceProcessOptions& options, const std::string& policy_file) {
  if (options.seccomp == SeccompMode::kOff) return ok_status();
  const std::string dir = options.seccomp_policy_dir.empty() ? default_seccomp_policy_dir()
                                                             : options.seccomp_policy_dir;
  auto policy = policy::load_process_policy(dir, policy_file);
  if (!policy.ok()) return policy.error();
  auto action = policy::ViolationAction::kKillProcess;
  if (options.seccomp == SeccompMode::kLog) action = policy::ViolationAction::kLog;
  if (options.seccomp == SeccompMode::kRecord) {
    BULWARK_TRY(policy::check_recording_tracer());
    action = policy::ViolationAction::kRecord;
  }
  Status applied = policy::apply_seccomp_policy(*policy, action);
  if (!applied.ok()) return applied.error().wrap("seccomp policy");
  return ok_status();
}

int exit_for_startup_error(const Error& error) {
  const std::string_view resource = exhausted_resource(error.errno_value());
  if (resource.empty()) {
    log::error(error.message());
    return kDeviceExitFailed;
  }
  log::error(resource_exhausted_message(resource, error.message()));
  return kDeviceExitResourceExhausted;
}

int run_device_main(int (*body)(int, char**), int argc, char** argv) {
  return run_main_guarded([&] { return body(argc, argv); }, kDeviceExitResourceExhausted, kDeviceExitFailed);
}

Result<UniqueFd> control_channel(const DeviceProcessOptions& options) {
  if (options.control_fd < 0) return UniqueFd();
  UniqueFd fd(options.control_fd);
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0) return Error::from_errno("--control-fd " + std::to_string(options.control_fd), errno);
  if (!S_ISSOCK(st.st_mode)) return Error("--control-fd " + std::to_string(options.control_fd) + ": not a socket");
  return fd;
}

int serve_frontend(UniqueFd socket, VirtioDevice& device, std::chrono::nanoseconds poll_max, UniqueFd control) {
  BackendServer server(std::move(socket), device);
  server.set_poll_max(poll_max);
  if (control.valid()) server.set_control_channel(std::move(control));
  return server.run().ok() ? 0 : 1;
}

}  // namespace bulwark::backend
