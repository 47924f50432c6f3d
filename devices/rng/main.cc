// bulwark-dev-rng: the virtio-rng device process. It serves one vhost-user frontend and runs
// under its own seccomp policy (policy/seccomp/dev-rng.policy) from the moment it is connected.
#include <cstdio>
#include <span>
#include <string>

#include "bulwark/common/log.h"
#include "devices/backend/device_process.h"
#include "devices/rng/rng_device.h"

// Leak checking at exit needs ptrace, which the seccomp policy forbids (sanitizer builds).
extern "C" const char* __lsan_default_options() { return "detect_leaks=0"; }  // NOLINT

namespace {

int usage(const std::string& why) {
  std::fprintf(stderr, "bulwark-dev-rng: %s\nusage: bulwark-dev-rng %s\n", why.c_str(),
               bulwark::backend::kCommonUsage);
  return 2;
}

int device_main(int argc, char** argv) {
  using namespace bulwark;
  const std::span<char* const> args(argv, static_cast<size_t>(argc));
  backend::DeviceProcessOptions options;
  for (size_t i = 1; i < args.size();) {
    auto used = backend::parse_common_option(options, args, i);
    if (!used.ok()) return usage(used.error().message());
    if (*used == 0) return usage(std::string("unknown option ") + args[i]);
    i += *used;
  }
  if (Status checked = backend::check_common_options(options); !checked.ok()) return usage(checked.error().message());

  auto socket = backend::connect_frontend(options);
  if (!socket.ok()) return backend::exit_for_startup_error(socket.error());
  if (Status sandboxed = backend::install_device_seccomp(options, "dev-rng.policy"); !sandboxed.ok()) {
    return backend::exit_for_startup_error(sandboxed.error());
  }
  rng::RngDevice device;
  return backend::serve_frontend(std::move(*socket), device);
}

}  // namespace

int main(int argc, char** argv) {
  bulwark::log::set_program_name("bulwark-dev-rng");
  return bulwark::backend::run_device_main(device_main, argc, argv);
}
