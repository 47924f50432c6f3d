#include "monitor/vmm/monitor_seccomp.h"

#include "policy/seccomp_policy/policy_apply.h"
#include "policy/seccomp_policy/policy_compiler.h"
#include "policy/seccomp_policy/policy_loader.h"

namespace bulwark::vmm {

const char* default_seccomp_policy_dir() { return BULWARK_DEFAULT_SECCOMP_POLICY_DIR; }

Result<std::optional<MonitorSeccompPrograms>> compile_monitor_seccomp(const config::VmConfig& config) {
  if (config.seccomp == config::SeccompMode::kOff) return std::optional<MonitorSeccompPrograms>();
  const std::string dir = config.seccomp_policy_dir.empty() ? default_seccomp_policy_dir() : config.seccomp_policy_dir;
  auto action = policy::ViolationAction::kKillProcess;
  if (config.seccomp == config::SeccompMode::kLog) action = policy::ViolationAction::kLog;
  if (config.seccomp == config::SeccompMode::kRecord) {
    BULWARK_TRY(policy::check_recording_tracer());
    action = policy::ViolationAction::kRecord;
  }
  auto compile = [&](const char* file) -> Result<std::vector<sock_filter>> {
    auto loaded = policy::load_process_policy(dir, file);
    if (!loaded.ok()) return loaded.error();
    auto program = policy::compile_seccomp_policy(*loaded, action);
    if (!program.ok()) return program.error().wrap("seccomp policy");
    return program;
  };
  auto main_thread = compile("monitor-main.policy");
  if (!main_thread.ok()) return main_thread.error();
  auto vcpu_thread = compile("monitor-vcpu.policy");
  if (!vcpu_thread.ok()) return vcpu_thread.error();
  return std::optional<MonitorSeccompPrograms>(MonitorSeccompPrograms{std::move(*main_thread), std::move(*vcpu_thread)});
}

}  // namespace bulwark::vmm
