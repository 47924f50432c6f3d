#include "jailer/api/vm_api.h"

#include <charconv>

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <vector>

#include "api/routes/router.h"
#include "bulwark/common/log.h"
#include "jailer/api/api_host_config.h"
#include "jailer/api/device_control.h"
#include "jailer/api/monitor_control.h"
#include "jailer/api/output_file.h"
#include "jailer/api/rate_limit_patch.h"
#include "jailer/api/replies.h"

namespace bulwark::jail {

namespace {

using ordered_json = nlohmann::ordered_json;

api::Reply fault(uint16_t status, const std::string& message) { return fault_reply(status, message); }
const api::Reply kNoContent = no_content_reply();

const char* state_name(VmApiState state) {
  switch (state) {
    case VmApiState::kNotStarted: return "Not started";
    case VmApiState::kRunning: return "Running";
    case VmApiState::kPaused: break;
  }
  return "Paused";
}

bool is_pre_boot(const api::Command& command) {
  return std::holds_alternative<api::PutBootSource>(command) || std::holds_alternative<api::PutMachineConfig>(command) ||
         std::holds_alternative<api::PutDrive>(command) || std::holds_alternative<api::PutNetworkInterface>(command) ||
         std::holds_alternative<api::PutEntropy>(command) || std::holds_alternative<api::PutVsock>(command) ||
         std::holds_alternative<api::PutTpm>(command) || std::holds_alternative<api::InstanceStart>(command);
}

bool is_monitor_command(const api::Command& command) {
  return std::holds_alternative<api::SetVmState>(command) || std::holds_alternative<api::SendCtrlAltDel>(command);
}

constexpr auto kMetricsPeriod = std::chrono::seconds(60);

// Nanoseconds as Prometheus's seconds, to the nanosecond.
std::string seconds_text(uint64_t nanoseconds) {
  std::string fraction = std::to_string(nanoseconds % 1'000'000'000u);
  fraction.insert(0, 9 - fraction.size(), '0');
  return std::to_string(nanoseconds / 1'000'000'000u) + "." + fraction;
}

ordered_json bucket_json(const RateBucket& bucket) {
  ordered_json out = {{"size", bucket.size}, {"refill_time", bucket.refill_time_ms}};
  if (bucket.one_time_burst != 0) out["one_time_burst"] = bucket.one_time_burst;
  return out;
}

ordered_json limiter_json(const RateBucket& bytes, const RateBucket& ops) {
  ordered_json out = ordered_json::object();
  if (bytes.limited()) out["bandwidth"] = bucket_json(bytes);
  if (ops.limited()) out["ops"] = bucket_json(ops);
  return out;
}

}  // namespace

VmApi::VmApi(const HostConfig& host, OperatorChoices choices, std::string vm_id)
    : pending_(host, std::move(choices)), vm_id_(std::move(vm_id)), host_(host) {}

void VmApi::set_running(const LaunchConfig* config, int control_fd) {
  running_copy_ = *config;
  running_ = &*running_copy_;
  control_fd_ = control_fd;
  state_ = VmApiState::kRunning;
  started_at_ = std::chrono::steady_clock::now();
}

VmApiOutcome VmApi::handle(const api::Command& command) {
  ++requests_;
  VmApiOutcome outcome;
  if (std::holds_alternative<api::ReplaceDevice>(command)) {
    // The launcher's own word to the monitor (a restarted device's socket rides with it); from
    // bulwark-api, which a client's bytes may have compromised, it is refused by name.
    outcome.reply = fault(400, "ReplaceDevice: the launcher sends it to the monitor; it is not accepted from bulwark-api");
  } else if (is_pre_boot(command)) {
    if (state_ != VmApiState::kNotStarted) {
      outcome.reply = fault(400, std::string(api::command_name(command)) +
                                     ": the VM has started; pre-boot resources cannot change now");
    } else if (std::holds_alternative<api::InstanceStart>(command)) {
      auto launch = pending_.assemble();
      if (!launch.ok()) {
        outcome.reply = fault(400, "InstanceStart: " + launch.error().message());
      } else {
        assembled_ = std::move(*launch);
        outcome.start_requested = true;
        outcome.reply = kNoContent;  // the caller replaces it if the launch fails
      }
    } else {
      outcome.reply = pending_.apply(command);
    }
  } else if (std::holds_alternative<api::GetInstanceInfo>(command)) {
    outcome.reply = instance_info();
  } else if (std::holds_alternative<api::GetMachineConfig>(command)) {
    if (running_ == nullptr) {
      outcome.reply = pending_.machine_config();
    } else {
      outcome.reply = json_reply({{"vcpu_count", running_->vm.vcpus},
                                  {"mem_size_mib", running_->vm.memory_mib},
                                  {"smt", false},
                                  {"track_dirty_pages", false}});
    }
  } else if (std::holds_alternative<api::GetVmConfig>(command)) {
    outcome.reply = running_ == nullptr ? pending_.vm_config() : running_vm_config();
  } else if (std::holds_alternative<api::GetMetrics>(command)) {
    outcome.reply = metrics();
  } else if (const auto* logger = std::get_if<api::PutLogger>(&command)) {
    outcome.reply = put_logger(*logger);  // before or after start: the relay runs from the first
  } else if (std::holds_alternative<api::GetPolicy>(command)) {
    outcome.reply = policy_ ? json_reply(policy_()) : fault(501, "GET /policy: this launcher was built without the policy CLI");
  } else if (std::holds_alternative<api::GetAttestation>(command)) {
    outcome.reply = attestation_ ? json_reply(attestation_())
                                 : fault(404, "GET /attestation: this VM has no signed launch report (it needs \"tpm\": "
                                              "true and the host config's \"tpm\": {\"report_key\"})");
  } else if (state_ == VmApiState::kNotStarted) {
    outcome.reply = fault(400, std::string(api::command_name(command)) + ": the VM has not started (PUT /actions InstanceStart first)");
  } else if (const auto* shutdown = std::get_if<api::Shutdown>(&command)) {
    // Ctrl-Alt-Del first, so the guest syncs and reboots (which ends the VM); the monitor is
    // stopped after timeout_s either way. Without a control channel: SIGTERM now.
    const auto after = std::chrono::seconds(shutdown->timeout_s);
    api::Reply cad = relay_to_monitor(api::SendCtrlAltDel{});
    outcome.stop = StopRequest{after, cad.status != 204};
    outcome.reply = kNoContent;
  } else if (const auto* put = std::get_if<api::PutMetrics>(&command)) {
    outcome.reply = put_metrics(*put);
  } else if (std::holds_alternative<api::FlushMetrics>(command)) {
    if (!metrics_file_) {
      outcome.reply = fault(400, "FlushMetrics: no metrics file (PUT /metrics first)");
    } else {
      metrics_file_->append(metrics_json_line());
      relay_to_monitor(command);  // the monitor logs its own summary; its answer changes nothing
      outcome.reply = kNoContent;
    }
  } else if (const auto* set = std::get_if<api::SetVmState>(&command)) {
    outcome.reply = set_vm_state(*set);
  } else if (is_monitor_command(command)) {
    outcome.reply = relay_to_monitor(command);
  } else if (const auto* drive = std::get_if<api::PatchDrive>(&command)) {
    outcome.reply = patch_drive(*drive);
  } else if (const auto* nic = std::get_if<api::PatchNetworkInterface>(&command)) {
    outcome.reply = patch_network_interface(*nic);
  } else {
    outcome.reply = fault(501, std::string(api::command_name(command)) + ": not supported");
  }
  if (outcome.reply.status >= 400) ++refused_;
  return outcome;
}

namespace {

ratelimit::BucketSpec bucket_spec(const RateBucket& bucket) {
  return {bucket.size, bucket.one_time_burst, bucket.refill_time_ms};
}

// "blk<N>": how GET /vm/config names a disk of a VM started from a vm.json.
std::optional<size_t> numbered_disk(const std::string& id, size_t disks) {
  if (id.size() < 4 || id.size() > 5 || id.compare(0, 3, "blk") != 0) return std::nullopt;
  size_t index = 0;
  for (size_t i = 3; i < id.size(); ++i) {
    if (id[i] < '0' || id[i] > '9') return std::nullopt;
    index = index * 10 + static_cast<size_t>(id[i] - '0');
  }
  if (index >= disks || (id.size() == 5 && id[3] == '0')) return std::nullopt;
  return index;
}

}  // namespace

api::Reply VmApi::set_device_rate_limit(const std::string& what, const std::string& name, const devctl::Buckets& buckets) {
  auto found = device_controls_.find(name);
  int unused = -1;
  int& fd = found == device_controls_.end() ? unused : found->second;
  auto reply = device_control_request(fd, devctl::ControlCommand{devctl::Op::kSetRateLimit, buckets});
  if (!reply.ok()) return fault(500, what + ": " + reply.error().message());
  if (reply->status != devctl::ControlStatus::kOk) {
    return fault(500, what + ": the device refused the new limits (" + devctl::status_name(reply->status) + ")");
  }
  return kNoContent;
}

api::Reply VmApi::patch_drive(const api::PatchDrive& request) {
  const std::string what = "PatchDrive " + request.drive_id;
  std::optional<size_t> index = pending_.disk_index(request.drive_id);
  if (!index) index = numbered_disk(request.drive_id, running_copy_->disks.size());
  if (!index || *index >= running_copy_->disks.size()) return fault(400, what + ": the VM has no such drive");
  DiskSettings& disk = running_copy_->disks[*index];
  RateBucket bytes = disk.rate_bytes, ops = disk.rate_ops;
  Status checked = patch_disk_rate_limits(request.rate_limiter, "/drives/" + request.drive_id + "/rate_limiter", bytes, ops);
  if (!checked.ok()) return fault(400, what + ": " + checked.error().message());
  api::Reply reply = set_device_rate_limit(what, "blk" + std::to_string(*index), {bucket_spec(bytes), bucket_spec(ops), {}, {}});
  if (reply.status == 204) {
    disk.rate_bytes = bytes;
    disk.rate_ops = ops;
  }
  return reply;
}

api::Reply VmApi::patch_network_interface(const api::PatchNetworkInterface& request) {
  const std::string what = "PatchNetworkInterface " + request.iface_id;
  std::vector<NetSettings>& nets = running_copy_->nets;
  size_t index = 0;
  while (index < nets.size() && nets[index].id != request.iface_id) ++index;
  if (index == nets.size()) return fault(400, what + ": the VM has no such network interface");
  NetRateLimiter limits = nets[index].rate_limiter;
  Status checked = patch_net_rate_limits(host_.net, request.rx_rate_limiter, request.tx_rate_limiter,
                                         "/network-interfaces/" + request.iface_id + "/rate_limiter", limits);
  if (!checked.ok()) return fault(400, what + ": " + checked.error().message());
  api::Reply reply = set_device_rate_limit(what, "net" + std::to_string(index),
                                           {bucket_spec(limits.rx_bytes), bucket_spec(limits.rx_packets),
                                            bucket_spec(limits.tx_bytes), bucket_spec(limits.tx_packets)});
  if (reply.status == 204) nets[index].rate_limiter = limits;
  return reply;
}

api::Reply VmApi::relay_to_monitor(const api::Command& command) { return monitor_request(control_fd_, command); }

api::Reply VmApi::set_vm_state(const api::SetVmState& set) {
  // Pause: the vCPUs first, then the devices stop taking from their rings. Resume: the devices
  // first, so the vCPUs find them serving; if the monitor then refuses, they pause again.
  if (!set.paused) pause_devices(false);
  api::Reply reply = relay_to_monitor(set);
  if (reply.status == 204) {
    state_ = set.paused ? VmApiState::kPaused : VmApiState::kRunning;
    if (set.paused) pause_devices(true);
  } else if (!set.paused && state_ == VmApiState::kPaused) {
    pause_devices(true);
  }
  return reply;
}

void VmApi::pause_devices(bool paused) {
  const devctl::Op op = paused ? devctl::Op::kPause : devctl::Op::kResume;
  for (auto& [name, fd] : device_controls_) {
    if (fd < 0) continue;
    auto reply = device_control_request(fd, devctl::ControlCommand{op, {}});
    // The vCPUs' state is what the API answers for; a device that did not follow is told.
    if (!reply.ok()) {
      log::warn("VM " + vm_id_ + ": " + name + ": " + devctl::op_name(op) + ": " + reply.error().message());
    } else if (reply->status != devctl::ControlStatus::kOk) {
      log::warn("VM " + vm_id_ + ": " + name + ": " + devctl::op_name(op) + " answered " + devctl::status_name(reply->status));
    }
  }
}

std::vector<DeviceStats> VmApi::device_stats() { return request_device_stats(device_controls_); }

api::Reply VmApi::instance_info() const {
  return json_reply({{"id", vm_id_},
                     {"state", state_name(state_)},
                     {"vmm_version", api::bulwark_version()},
                     {"app_name", "bulwark"}});
}

api::Reply VmApi::running_vm_config() const {
  const LaunchConfig& c = *running_;
  ordered_json boot = {{"kernel_image_path", c.vm.kernel}};
  if (!c.vm.initrd.empty()) boot["initrd_path"] = c.vm.initrd;
  if (!c.vm.cmdline.empty()) boot["boot_args"] = c.vm.cmdline;
  ordered_json drives = ordered_json::array();
  for (size_t i = 0; i < c.disks.size(); ++i) {
    const DiskSettings& disk = c.disks[i];
    ordered_json d = {{"drive_id", "blk" + std::to_string(i)},
                      {"path_on_host", disk.path},
                      {"is_root_device", i == 0},
                      {"is_read_only", disk.read_only},
                      {"format", disk.format == DiskFormat::kQcow2 ? "qcow2" : "raw"}};
    ordered_json limiter = limiter_json(disk.rate_bytes, disk.rate_ops);
    if (!limiter.empty()) d["rate_limiter"] = std::move(limiter);
    drives.push_back(std::move(d));
  }
  ordered_json nets = ordered_json::array();
  for (const NetSettings& net : c.nets) {
    ordered_json n = {{"iface_id", net.id}, {"guest_mac", net.mac}};
    ordered_json rx = limiter_json(net.rate_limiter.rx_bytes, net.rate_limiter.rx_packets);
    ordered_json tx = limiter_json(net.rate_limiter.tx_bytes, net.rate_limiter.tx_packets);
    if (!rx.empty()) n["rx_rate_limiter"] = std::move(rx);
    if (!tx.empty()) n["tx_rate_limiter"] = std::move(tx);
    nets.push_back(std::move(n));
  }
  ordered_json body = {{"boot-source", std::move(boot)},
                       {"machine-config",
                        {{"vcpu_count", c.vm.vcpus}, {"mem_size_mib", c.vm.memory_mib}, {"smt", false}, {"track_dirty_pages", false}}},
                       {"drives", std::move(drives)},
                       {"network-interfaces", std::move(nets)}};
  if (c.rng) body["entropy"] = ordered_json::object();
  if (c.vsock) {
    ordered_json vsock = ordered_json::object();
    if (!pending_.vsock_id().empty()) vsock["vsock_id"] = pending_.vsock_id();
    vsock["guest_cid"] = c.vsock->guest_cid;
    vsock["uds_path"] = c.vsock->uds_path;
    body["vsock"] = std::move(vsock);
  }
  body["tpm"] = {{"enabled", c.tpm}};
  return json_reply(body);
}

api::Reply VmApi::metrics() {
  std::string text;
  auto gauge = [&text](const std::string& name, const std::string& help, const std::string& value) {
    text += "# HELP " + name + " " + help + "\n# TYPE " + name + " gauge\n" + name + " " + value + "\n";
  };
  auto counter = [&text](const std::string& name, const std::string& help, uint64_t value) {
    text += "# HELP " + name + " " + help + "\n# TYPE " + name + " counter\n" + name + " " + std::to_string(value) + "\n";
  };
  text += "# HELP bulwark_vm_state The VM's state (1 for the current one).\n# TYPE bulwark_vm_state gauge\n";
  for (VmApiState s : {VmApiState::kNotStarted, VmApiState::kRunning, VmApiState::kPaused}) {
    text += std::string("bulwark_vm_state{state=\"") + state_name(s) + "\"} " + (s == state_ ? "1" : "0") + "\n";
  }
  const double uptime = running_ == nullptr ? 0.0
      : std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at_).count();
  gauge("bulwark_vm_uptime_seconds", "Seconds since the monitor started.", std::to_string(uptime));
  if (running_ != nullptr) {
    gauge("bulwark_vm_disks", "Disks (one bulwark-dev-blk each).", std::to_string(running_->disks.size()));
    gauge("bulwark_vm_nics", "NICs (one bulwark-dev-net each).", std::to_string(running_->nets.size()));
  }
  if (!launch_phases_.empty()) {
    text += "# HELP bulwark_launch_phase_seconds Seconds each step of this VM's launch took (CLOCK_MONOTONIC).\n"
            "# TYPE bulwark_launch_phase_seconds gauge\n";
    for (const LaunchPhase& phase : launch_phases_) {
      text += "bulwark_launch_phase_seconds{phase=\"" + phase.name + "\"} " + seconds_text(phase.nanoseconds) + "\n";
    }
  }
  counter("bulwark_api_commands_total", "Commands the launcher took from bulwark-api.", requests_);
  counter("bulwark_api_refused_total", "Commands answered with an error status.", refused_);
  // Each disk's and NIC's own counters, from its control channel.
  if (running_ != nullptr) text += device_metrics_text(device_stats());
  if (supervision_counts_) text += device_supervision_metrics_text(supervision_counts_());
  // The monitor's own counters (vCPU exits by reason, ...), when it has a control channel.
  if (control_fd_ >= 0 && running_ != nullptr) {
    api::Reply monitor = relay_to_monitor(api::GetMetrics{});
    if (monitor.status == 200 && monitor.body_kind == api::Reply::Body::kPrometheus) text += monitor.body;
  }
  return {200, api::Reply::Body::kPrometheus, text};
}

api::Reply VmApi::put_metrics(const api::PutMetrics& request) {
  if (metrics_file_) return fault(400, "PutMetrics: the metrics file is already set");
  auto path = resolve_in_operator_dirs(host_.api.output_dirs, request.metrics_path, "metrics_path", "api.output_dirs");
  if (!path.ok()) return fault(400, path.error().message());
  auto file = MetricsFile::open(*path);
  if (!file.ok()) return fault(400, file.error().message());
  metrics_file_.emplace(std::move(*file));
  next_flush_ = std::chrono::steady_clock::now() + kMetricsPeriod;
  return kNoContent;
}

api::Reply VmApi::put_logger(const api::PutLogger& request) {
  // What Bulwark cannot honour is refused, never ignored (api/README.md).
  if (!request.module.empty()) {
    return fault(400, "PutLogger: module: Bulwark's log has no module paths to filter by (each record names the "
                      "process it comes from); leave module out");
  }
  // show_log_origin (Firecracker's getting-started sets it): a record's origin here is the process
  // that wrote it, which every record names already (the launcher stamps it; a process cannot
  // claim another's), so true asks for nothing more. Source file and line are not known to the
  // relay, which treats lines as opaque text (api/README.md).
  auto level = parse_relay_level(request.level);
  if (!level.ok()) return fault(400, "PutLogger: " + level.error().message());
  if (!log_control_) return fault(501, "PutLogger: this launcher has no log relay");
  if (logger_set_) return fault(400, "PutLogger: the logger is already configured (once per VM, as in Firecracker)");
  UniqueFd file;
  if (!request.log_path.empty()) {
    auto path = resolve_in_operator_dirs(host_.api.output_dirs, request.log_path, "log_path", "api.output_dirs");
    if (!path.ok()) return fault(400, path.error().message());
    auto opened = open_output_file(*path, "log_path");
    if (!opened.ok()) return fault(400, opened.error().message());
    file = std::move(*opened);
  }
  if (Status s = log_control_(*level, request.show_level, file.valid() ? file.get() : -1); !s.ok()) {
    return fault(500, "PutLogger: " + s.error().message());
  }
  logger_set_ = true;
  return kNoContent;
}

void VmApi::tick() {
  if (!metrics_file_ || std::chrono::steady_clock::now() < next_flush_) return;
  metrics_file_->append(metrics_json_line());
  next_flush_ = std::chrono::steady_clock::now() + kMetricsPeriod;
}

std::string VmApi::metrics_json_line() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const double uptime = running_ == nullptr ? 0.0
      : std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at_).count();
  ordered_json line = {{"utc_timestamp_ms", std::chrono::duration_cast<std::chrono::milliseconds>(now).count()},
                       {"vm", vm_id_},
                       {"state", state_name(state_)},
                       {"uptime_seconds", uptime},
                       {"api", {{"commands", requests_}, {"refused", refused_}}},
                       {"metrics_lines_dropped", metrics_file_ ? metrics_file_->dropped() : 0}};
  if (!launch_phases_.empty()) {
    ordered_json phases = ordered_json::object();
    for (const LaunchPhase& phase : launch_phases_) phases[phase.name] = static_cast<double>(phase.nanoseconds) / 1e9;
    line["launch_phase_seconds"] = std::move(phases);
  }
  if (running_ != nullptr) {
    line["disks"] = running_->disks.size();
    line["nics"] = running_->nets.size();
    line["devices"] = device_metrics_json(device_stats());
  }
  // The monitor's counters stay its Prometheus text, carried as one escaped string: the launcher
  // does not parse what the monitor (which runs the guest) says.
  if (control_fd_ >= 0 && running_ != nullptr) {
    api::Reply monitor = relay_to_monitor(api::GetMetrics{});
    if (monitor.status == 200) line["monitor_prometheus"] = monitor.body;
  }
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void VmApi::replace_device_control(const std::string& name, int fd) {
  device_controls_[name] = fd;
  // The new process started with the launch config's limits; PATCH may have changed them since.
  std::optional<devctl::Buckets> buckets;
  size_t index = 0;
  const bool numbered = name.size() > 3 &&
      std::from_chars(name.data() + 3, name.data() + name.size(), index).ec == std::errc();
  if (running_copy_ && numbered && name.rfind("blk", 0) == 0 && index < running_copy_->disks.size()) {
    const DiskSettings& disk = running_copy_->disks[index];
    buckets = devctl::Buckets{bucket_spec(disk.rate_bytes), bucket_spec(disk.rate_ops), {}, {}};
  } else if (running_copy_ && numbered && name.rfind("net", 0) == 0 && index < running_copy_->nets.size()) {
    const NetRateLimiter& limits = running_copy_->nets[index].rate_limiter;
    buckets = devctl::Buckets{bucket_spec(limits.rx_bytes), bucket_spec(limits.rx_packets),
                              bucket_spec(limits.tx_bytes), bucket_spec(limits.tx_packets)};
  }
  if (buckets) {
    const api::Reply reply = set_device_rate_limit("restarted device " + name, name, *buckets);
    if (reply.status != 204) log::warn("VM " + vm_id_ + ": " + reply.body);
  }
  if (state_ == VmApiState::kPaused) {
    auto reply = device_control_request(device_controls_[name], devctl::ControlCommand{devctl::Op::kPause, {}});
    if (!reply.ok()) log::warn("VM " + vm_id_ + ": restarted device " + name + ": Pause: " + reply.error().message());
  }
}

}  // namespace bulwark::jail
