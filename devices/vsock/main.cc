// bulwark-dev-vsock: the virtio-vsock device process (hybrid vsock, as Firecracker's). The
// launcher (operator) gives it the guest CID, `<uds_path>` inside the VM's jail and, best, the
// listening socket of that path as an inherited fd; it serves one vhost-user frontend and
// runs under policy/seccomp/dev-vsock.policy from the moment it is connected. Its only
// socket calls then are accepting host clients and connecting to `<uds_path>_<port>`.
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>

#include "bulwark/common/log.h"
#include "devices/backend/device_process.h"
#include "devices/vsock/host_socket.h"
#include "devices/vsock/vsock_device.h"

// Leak checking at exit needs ptrace, which the seccomp policy forbids (sanitizer builds).
extern "C" const char* __lsan_default_options() { return "detect_leaks=0"; }  // NOLINT

namespace {

using namespace bulwark;

int usage(const std::string& why) {
  std::fprintf(stderr,
               "bulwark-dev-vsock: %s\nusage: bulwark-dev-vsock %s --guest-cid N --uds-path PATH\n"
               "       [--listen-fd N] [--max-connections N] [--connect-timeout-ms N] [--close-timeout-ms N]\n"
               "       [--buf-alloc BYTES]\n"
               "       (--listen-fd: the listening socket of PATH; without it the device binds PATH itself)\n",
               why.c_str(), backend::kCommonUsage);
  return backend::kDeviceExitUsage;
}

template <typename T>
bool parse_number(std::string_view text, T& value) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

int device_main(int argc, char** argv) {
  const std::span<char* const> args(argv, static_cast<size_t>(argc));
  backend::DeviceProcessOptions options;
  vsock::VsockDeviceOptions device_options;
  int listen_fd = -1;
  bool have_cid = false;
  for (size_t i = 1; i < args.size();) {
    auto used = backend::parse_common_option(options, args, i);
    if (!used.ok()) return usage(used.error().message());
    if (*used > 0) {
      i += *used;
      continue;
    }
    const std::string flag = args[i];
    auto value = backend::option_value(args, i);
    if (!value.ok()) return usage(value.error().message());
    i += 2;
    uint64_t number = 0;
    if (flag == "--uds-path") {
      device_options.uds_path = *value;
      continue;
    }
    if (!parse_number(*value, number)) return usage(flag + ": a number");
    if (flag == "--guest-cid") {
      device_options.guest_cid = number;
      have_cid = true;
    } else if (flag == "--listen-fd") {
      if (number > 1 << 20) return usage("--listen-fd: not a file descriptor number");
      listen_fd = static_cast<int>(number);
    } else if (flag == "--max-connections") {
      if (number == 0 || number > 1 << 20) return usage("--max-connections: 1 to 1048576");
      device_options.max_connections = number;
    } else if (flag == "--connect-timeout-ms" || flag == "--close-timeout-ms") {
      if (number == 0 || number > 600000) return usage(flag + ": 1 to 600000");
      (flag == "--connect-timeout-ms" ? device_options.connect_timeout : device_options.close_timeout) =
          std::chrono::milliseconds(number);
    } else if (flag == "--buf-alloc") {
      if (number < 4096 || number > (1u << 24)) return usage("--buf-alloc: 4096 to 16777216");
      device_options.buf_alloc = static_cast<uint32_t>(number);
    } else {
      return usage("unknown option " + flag);
    }
  }
  if (Status checked = backend::check_common_options(options); !checked.ok()) return usage(checked.error().message());
  if (!have_cid) return usage("--guest-cid is needed");
  if (Status path = vsock::check_uds_path(device_options.uds_path); !path.ok()) return usage(path.error().message());

  auto listener = listen_fd >= 0 ? vsock::adopt_listener(listen_fd) : vsock::listen_unix(device_options.uds_path);
  if (!listener.ok()) return backend::exit_for_startup_error(listener.error());
  auto device = vsock::VsockDevice::create(std::move(device_options), std::move(*listener));
  if (!device.ok()) return backend::exit_for_startup_error(device.error());
  auto control = backend::control_channel(options);
  if (!control.ok()) return backend::exit_for_startup_error(control.error());
  auto socket = backend::connect_frontend(options);
  if (!socket.ok()) return backend::exit_for_startup_error(socket.error());
  if (Status sandboxed = backend::install_device_seccomp(options, "dev-vsock.policy"); !sandboxed.ok()) {
    return backend::exit_for_startup_error(sandboxed.error());
  }
  const int status = backend::serve_frontend(std::move(*socket), **device, {}, std::move(*control));
  log::info((*device)->summary());
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  bulwark::log::set_program_name("bulwark-dev-vsock");
  return bulwark::backend::run_device_main(device_main, argc, argv);
}
