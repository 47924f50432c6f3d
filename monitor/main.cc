// bulwark-monitor: one KVM virtual machine from a config file or flags. Thin by design: the
// logic lives in the libraries under monitor/.
#include <malloc.h>
#include <signal.h>
#include <sys/prctl.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/common/log.h"
#include "bulwark/common/resource_exhaustion.h"
#include "monitor/config/command_line.h"
#include "monitor/config/input_file.h"
#include "monitor/cpu/cpu_template.h"
#include "monitor/vmm/exit_codes.h"
#include "monitor/vmm/virtual_machine.h"

// Sanitizer test builds only: LeakSanitizer's exit-time check stops the world with ptrace,
// which the monitor's seccomp policy rightly forbids. Unit tests still check the libraries
// for leaks.
extern "C" const char* __lsan_default_options() { return "detect_leaks=0"; }  // NOLINT

namespace {

constexpr const char* kVersion = "bulwark-monitor 0.1.0";
constexpr size_t kMaxConfigFileBytes = 1 << 20;

bulwark::Result<std::string> read_config_file(const std::string& path) {
  auto bytes = bulwark::config::read_regular_file("config file", path, kMaxConfigFileBytes);
  if (!bytes.ok()) return bytes.error();
  return std::string(bytes->begin(), bytes->end());
}

// A failure whose errno says a host resource ran out gets the resource named and its own
// exit code, whatever stage it came from.
int exit_code_for(const bulwark::Error& error, int stage_exit_code) {
  const std::string_view resource = bulwark::exhausted_resource(error.errno_value());
  if (resource.empty()) {
    bulwark::log::error(error.message());
    return stage_exit_code;
  }
  bulwark::log::error(bulwark::resource_exhausted_message(resource, error.message()));
  return bulwark::vmm::kExitResourceExhausted;
}

int monitor_main(int argc, char** argv) {
  using namespace bulwark;
  const auto process_start = std::chrono::steady_clock::now();
  // execve made the process dumpable again: keep guest memory out of core dumps and /proc
  // (ptrace, /proc/<pid>/mem) out of reach of the VM's own uid.
  ::prctl(PR_SET_DUMPABLE, 0);
  // Before any thread exists, so every vCPU thread inherits the mask.
  vmm::block_stop_signals();
  // A device process that dies turns the next write to its socket into EPIPE, which fails
  // that device; the default SIGPIPE would kill the whole VM instead.
  ::signal(SIGPIPE, SIG_IGN);

  std::vector<std::string_view> args(argv + 1, argv + argc);
  auto command_line = config::parse_command_line(args, read_config_file);
  if (!command_line.ok()) {
    const int code = exit_code_for(command_line.error(), vmm::kExitConfigError);
    if (code == vmm::kExitConfigError) std::fprintf(stderr, "Try 'bulwark-monitor --help'.\n");
    return code;
  }
  if (command_line->show_help) {
    std::printf("%s\nCPU templates (--cpu-template):\n%s", config::usage_text("bulwark-monitor").c_str(),
                cpu::describe_cpu_templates().c_str());
    return 0;
  }
  if (command_line->show_version) {
    std::printf("%s\n", kVersion);
    return 0;
  }
  if (command_line->list_cpu_templates) {
    std::printf("%s", cpu::describe_cpu_templates().c_str());
    return 0;
  }
  if (auto level = config::log_level_from_name(command_line->log_level)) log::set_min_level(*level);

  int exit_code = vmm::kExitHostError;
  auto vm = vmm::VirtualMachine::create(command_line->config, exit_code, process_start);
  if (!vm.ok()) return exit_code_for(vm.error(), exit_code);
  // The kernel and initrd were read into the heap and copied into guest memory; glibc keeps the
  // freed pages (its trim threshold grows with large frees). Hand them back before the guest
  // runs, and before seccomp, which does not allow the madvise this makes.
  ::malloc_trim(0);
  return (*vm)->run();
}

}  // namespace

int main(int argc, char** argv) {
  bulwark::log::set_program_name("bulwark-monitor");
  // The last resort: an exception escaping (a failed allocation, a thread that could not be
  // created outside the paths that handle it) must end in a message and a documented exit
  // code, never in std::terminate's SIGABRT.
  return bulwark::run_main_guarded([&] { return monitor_main(argc, argv); },
                                   bulwark::vmm::kExitResourceExhausted, bulwark::vmm::kExitHostError);
}
