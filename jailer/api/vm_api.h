// The launcher's side of the VM's API: what each typed command from bulwark-api (api_process.h)
// does. Before InstanceStart it configures a PendingVm; after, it answers from the running VM's
// settings and relays the run-time commands (PATCH /vm, SendCtrlAltDel, metrics) to the
// monitor's control channel, when the monitor has one, and run-time rate limits (PATCH /drives,
// PATCH /network-interfaces), pause and resume (with PATCH /vm) and GET /metrics' per-device
// counters to each device's own control channel. It never parses HTTP or request JSON: the
// commands arrive typed, and every JSON body it answers with is one it writes.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/command/command.h"
#include "devices/control/control_message.h"
#include "jailer/api/device_metrics.h"
#include "jailer/api/metrics_file.h"
#include "jailer/api/pending_vm.h"
#include "jailer/jail.h"
#include "jailer/jail_config.h"
#include "jailer/launch_phases.h"
#include "jailer/log_line.h"

namespace bulwark::jail {

enum class VmApiState { kNotStarted, kRunning, kPaused };

struct VmApiOutcome {
  api::Reply reply;
  bool start_requested = false;       // InstanceStart with a valid VM: assembled() has it
  std::optional<StopRequest> stop;    // Shutdown
};

class VmApi {
 public:
  VmApi(const HostConfig& host, OperatorChoices choices, std::string vm_id);

  // `policy` answers GET /policy (the launcher's policy CLI, this VM's jail filled in).
  void set_policy_source(std::function<nlohmann::json()> policy) { policy_ = std::move(policy); }
  // `attestation` answers GET /attestation ({"report", "signature"}: the VM's signed launch
  // report, jailer/vm_tpm.h); main.cc sets it when the VM's TPM made one. Unset: 404.
  void set_attestation_source(std::function<nlohmann::json()> attestation) { attestation_ = std::move(attestation); }
  // PUT /logger's effect: tells the VM's log relay its least level, show_level, and the log file
  // the launcher opened (-1: none; the relay takes its own copy). main.cc: LogRelay::configure.
  using LogControl = std::function<Status(RelayLevel, bool show_level, int file)>;
  void set_log_control(LogControl control) { log_control_ = std::move(control); }
  // How long each launch step took (launch_phases.h), served by GET /metrics and PUT /metrics.
  void set_launch_phases(std::vector<LaunchPhase> phases) { launch_phases_ = std::move(phases); }
  // The VM runs: answers come from `config` (kept alive by the caller) from now on; `control_fd`
  // is the monitor's control channel (-1: none, run-time commands answer 501).
  void set_running(const LaunchConfig* config, int control_fd);
  // The launcher's ends of the devices' control channels by device name ("blk0", "net0";
  // VmDevices::control_fds): PATCH /drives and PATCH /network-interfaces go there.
  void set_device_controls(std::map<std::string, int> fds) { device_controls_ = std::move(fds); }
  // A disk's or NIC's process was replaced (jailer/device_supervisor.h): its new control
  // channel end. The rate limits in effect (PATCHed ones included) are set on the new process,
  // and it is paused if the VM is.
  void replace_device_control(const std::string& name, int fd);
  // GET /metrics' per-device restart and seccomp-kill counts (DeviceSupervisor::counts).
  using SupervisionCounts = std::function<std::vector<DeviceSupervisionCounts>()>;
  void set_supervision_counts(SupervisionCounts counts) { supervision_counts_ = std::move(counts); }

  VmApiOutcome handle(const api::Command& command);
  // Called often (at least every 200 ms) while the VM runs: the periodic metrics flush.
  void tick();
  // After start_requested: the VM InstanceStart assembled, checked.
  std::optional<LaunchConfig>& assembled() { return assembled_; }
  VmApiState state() const { return state_; }

 private:
  api::Reply relay_to_monitor(const api::Command& command);
  // PATCH /vm: the monitor's vCPUs and every device process's rings (Pause/Resume on its
  // control channel; a device that does not follow is logged, the answer is the monitor's).
  api::Reply set_vm_state(const api::SetVmState& set);
  void pause_devices(bool paused);
  // GetStats from every disk and NIC that answers, all asked at once (one shared deadline).
  std::vector<DeviceStats> device_stats();
  api::Reply instance_info() const;
  api::Reply running_vm_config() const;
  api::Reply metrics();
  std::string metrics_json_line();
  api::Reply put_metrics(const api::PutMetrics& request);
  api::Reply put_logger(const api::PutLogger& request);
  api::Reply patch_drive(const api::PatchDrive& request);
  api::Reply patch_network_interface(const api::PatchNetworkInterface& request);
  // SetRateLimit to device `name`: 204, or 500 when it did not take it.
  api::Reply set_device_rate_limit(const std::string& what, const std::string& name, const devctl::Buckets& buckets);

  PendingVm pending_;
  std::string vm_id_;
  VmApiState state_ = VmApiState::kNotStarted;
  std::optional<LaunchConfig> assembled_;
  const LaunchConfig* running_ = nullptr;  // &*running_copy_ once the VM runs
  // The running VM's settings, copied at start: PATCHed rate limits update it, so GET /vm/config
  // shows what the devices enforce.
  std::optional<LaunchConfig> running_copy_;
  std::map<std::string, int> device_controls_;
  int control_fd_ = -1;
  std::function<nlohmann::json()> policy_;
  std::function<nlohmann::json()> attestation_;
  std::chrono::steady_clock::time_point started_at_{};
  uint64_t requests_ = 0, refused_ = 0;
  const HostConfig& host_;
  std::optional<MetricsFile> metrics_file_;
  std::chrono::steady_clock::time_point next_flush_{};
  LogControl log_control_;
  bool logger_set_ = false;
  std::vector<LaunchPhase> launch_phases_;
  SupervisionCounts supervision_counts_;
};

}  // namespace bulwark::jail
