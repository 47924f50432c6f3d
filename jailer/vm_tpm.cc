#include "jailer/vm_tpm.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "attestation/base64_text.h"
#include "attestation/event_log_parser.h"
#include "attestation/launch_events.h"
#include "attestation/launch_report.h"
#include "attestation/report_signature.h"
#include "attestation/pcr_replay.h"
#include "attestation/tpm2_quote_structures.h"
#include "bulwark/common/log.h"
#include "jailer/jail_dir.h"
#include "jailer/launch_measurements.h"
#include "jailer/tpm_client.h"
#include "jailer/tpm_report_key.h"
#include "jailer/tpm_spec.h"
#include "jailer/tpm_state.h"
#include "policy/seccomp_policy/policy_compiler.h"
#include "policy/seccomp_policy/policy_loader.h"

namespace bulwark::jail {

namespace {

// A launch input larger than this is refused rather than read into memory (a kernel and an
// initrd are tens of MiB; the biggest binary, the monitor, a few).
constexpr uint64_t kMaxMeasuredBytes = uint64_t{1} << 30;

Result<std::vector<uint8_t>> read_all(int fd, const std::string& name) {
  struct stat st{};
  if (::fstat(fd, &st) != 0) return Error::from_errno("measure " + name, errno);
  if (!S_ISREG(st.st_mode)) return Error("measure " + name + ": not a regular file");
  if (static_cast<uint64_t>(st.st_size) > kMaxMeasuredBytes) return Error("measure " + name + ": larger than 1 GiB");
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::pread(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::from_errno("measure " + name + ": read", errno);
    if (n == 0) return Error("measure " + name + ": the file shrank while it was read");
    done += static_cast<size_t>(n);
  }
  return bytes;
}

Result<std::vector<uint8_t>> read_path(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) return Error::from_errno("measure " + path, errno);
  return read_all(fd.get(), path);
}

std::span<const uint8_t> as_bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// A listening socket at `path` (a stale one of a launcher that died is replaced), root's, 0600.
Result<UniqueFd> listen_at(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) return Error("socket path too long: " + path);
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Error::from_errno("socket", errno);
  const mode_t old_mask = ::umask(0177);
  const int bound = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address);
  const int bind_error = errno;
  ::umask(old_mask);
  if (bound != 0) return Error::from_errno("bind " + path, bind_error);
  if (::listen(fd.get(), 4) != 0) return Error::from_errno("listen " + path, errno);
  return fd;
}

const ReadOnlyInput* input_at(const JailSpec& spec, const char* jail_path) {
  for (const ReadOnlyInput& input : spec.inputs) {
    if (input.jail_path == jail_path) return &input;
  }
  return nullptr;
}

// `bytes` to `path` (root, 0640), written whole to path.new then renamed into place.
Status write_whole_file(const std::string& path, std::span<const uint8_t> bytes, const std::string& step) {
  const std::string temporary = path + ".new";
  UniqueFd out(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0640));
  if (!out.valid()) return Error::from_errno(step + ": create " + temporary, errno);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(out.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error::from_errno(step + ": write " + temporary, errno);
    done += static_cast<size_t>(n);
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) return Error::from_errno(step + ": rename " + path, errno);
  return ok_status();
}

}  // namespace

Result<std::vector<std::string>> measured_policy_files(const std::string& dir) {
  std::error_code error;
  std::vector<std::string> names;
  for (std::filesystem::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (name.size() > 7 && name.ends_with(".policy")) names.push_back(name);
  }
  if (error) return Error("list " + dir + ": " + error.message());
  std::sort(names.begin(), names.end());
  return names;
}

nlohmann::json attestation_body(const SignedLaunchReport& report) {
  return {{"report", nlohmann::json::parse(report.json, nullptr, false)},
          {"signature", attestation::to_base64(report.signature)}};
}

std::string vm_tpm_run_dir(const std::string& run_dir, const std::string& vm_id) {
  return run_dir + "/tpm/" + vm_id;
}

Result<VmTpm> VmTpm::start(const LaunchConfig& config, const MonitorLaunchOptions& options,
                           jailer::VmSvirt& svirt, const std::string& run_dir, LogRelay* logs) {
  const std::string step = "jail step tpm";
  const JailSettings& settings = config.jail;
  VmTpm tpm;
  if (!config.tpm_host.report_key.empty()) {
    auto key = read_report_key(config.tpm_host.report_key, "host config /tpm/report_key");
    if (!key.ok()) return key.error().wrap(step);
    tpm.report_key_ = std::move(*key);
  }
  auto state = prepare_tpm_state(config.tpm_host, settings.id, settings.uid, settings.gid);
  if (!state.ok()) return state.error().wrap(step + ": state");
  tpm.state_dir_ = state->path;
  tpm.swtpm_path_ = config.tpm_host.swtpm.empty() ? kDefaultSwtpm : config.tpm_host.swtpm;

  // The run directory: what a launcher of this VM id that died left is replaced.
  const std::string parent = run_dir + "/tpm";
  if (::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) return Error::from_errno(step + ": mkdir " + parent, errno);
  const std::string dir = vm_tpm_run_dir(run_dir, settings.id);
  if (Status s = remove_tree(dir); !s.ok()) return s.error().wrap(step);
  if (::mkdir(dir.c_str(), 0750) != 0) return Error::from_errno(step + ": mkdir " + dir, errno);
  tpm.run_dir_ = dir;
  auto data = listen_at(tpm.data_socket());
  if (!data.ok()) return data.error().wrap(step);
  auto control = listen_at(dir + "/" + kTpmControlSocketName);
  if (!control.ok()) return control.error().wrap(step);

  // swtpm filters nothing with a Bulwark policy: the jail installs swtpm.policy before execve.
  auto policy = policy::load_seccomp_policy_file(options.seccomp_policy_dir + "/" + kSwtpmPolicyFile);
  if (!policy.ok()) return policy.error().wrap(step);
  auto program = policy::compile_seccomp_policy(
      *policy, options.seccomp_record ? policy::ViolationAction::kLog : policy::ViolationAction::kKillProcess);
  if (!program.ok()) return program.error().wrap(step);
  const auto* first = reinterpret_cast<const uint8_t*>(program->data());
  tpm.compiled_policy_.assign(first, first + program->size() * sizeof(sock_filter));

  UniqueFd null_fd(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null_fd.valid()) return Error::from_errno(step + ": open /dev/null", errno);
  TpmLaunch launch;
  launch.swtpm_path = tpm.swtpm_path_;
  launch.state_dir = tpm.state_dir_;
  launch.data_fd = data->get();
  launch.control_fd = control->get();
  launch.null_fd = null_fd.get();
  if (logs != nullptr) {
    auto channel = logs->add_process("swtpm");
    if (!channel.ok()) return channel.error().wrap(step + ": logs");
    launch.stderr_fd = *channel;
  }
  launch.seccomp_program = std::move(*program);
  JailSpec spec = build_tpm_spec(config, options, launch);
  // No SELinux domain of its own yet (policy/selinux has none for swtpm): its jail's files are
  // labelled like the VM's others; its exec context is left as it is.
  spec.create_label = svirt.jail_create_label();
  tpm.spec_ = spec;
  auto jailed = run_jailed(spec);
  if (!jailed.ok()) return jailed.error().wrap("swtpm");
  log::info("VM " + settings.id + ": swtpm running as pid " + std::to_string((*jailed)->pid()) + ", TPM state " +
            tpm.state_dir_ + ", data socket " + tpm.data_socket());
  tpm.jail_ = std::move(*jailed);
  return tpm;
}

Result<UniqueFd> VmTpm::connect_for_monitor() const {
  const std::string path = data_socket();
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) return Error("jail step tpm-link: socket path too long: " + path);
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Error::from_errno("jail step tpm-link: socket", errno);
  // swtpm is up (measure() talked to it): the connection waits in its backlog until the
  // launcher's own has been seen closed, then it is the one swtpm serves.
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
    return Error::from_errno("jail step tpm-link: connect to " + path, errno);
  return fd;
}

Status VmTpm::measure(const JailSpec& monitor, const LaunchConfig& config, const MonitorLaunchOptions& options,
                      const jailer::VmSvirt& svirt) {
  namespace at = attestation;
  const std::string step = "jail step measure";
  auto client = TpmClient::connect(data_socket());
  if (!client.ok()) return client.error().wrap(step);
  if (Status s = client->startup_clear(); !s.ok()) return s.error().wrap(step);
  // Which banks swtpm has active: the SHA-384 extend only where it has that bank (swtpm_setup
  // here activates both; a state made elsewhere may not).
  auto banks = client->pcr_read(at::kPcrBootInputs);
  if (!banks.ok()) return banks.error().wrap(step);
  bool sha384 = false;
  for (const at::PcrReadBank& bank : banks->banks) sha384 = sha384 || bank.alg == at::kAlgSha384;

  at::EventLogWriter log;
  // Every event is logged first and extended after, in log order, so a failure half-way leaves
  // no log at all (the launch stops).
  struct Pending {
    uint32_t pcr;
    at::Digests digests;
    std::string what;
  };
  std::vector<Pending> extends;
  auto record = [&](uint32_t pcr, Result<at::Digests> digests, const std::string& what) -> Status {
    if (!digests.ok()) return digests.error().wrap(step + ": " + what);
    extends.push_back({pcr, *digests, what});
    return ok_status();
  };

  // PCR 9: the boot inputs, from the fds the monitor's jail binds.
  const ReadOnlyInput* kernel = input_at(monitor, kKernelJailPath);
  if (kernel == nullptr || kernel->fd < 0) return Error(step + ": the kernel was not opened");
  auto kernel_bytes = read_all(kernel->fd, "the kernel");
  if (!kernel_bytes.ok()) return kernel_bytes.error().wrap(step);
  BULWARK_TRY(record(at::kPcrBootInputs, at::measure_kernel(log, *kernel_bytes), "kernel"));
  kernel_bytes->clear();
  kernel_bytes->shrink_to_fit();
  if (const ReadOnlyInput* initrd = input_at(monitor, kInitrdJailPath); initrd != nullptr) {
    if (initrd->fd < 0) return Error(step + ": the initrd was not opened");
    auto initrd_bytes = read_all(initrd->fd, "the initrd");
    if (!initrd_bytes.ok()) return initrd_bytes.error().wrap(step);
    BULWARK_TRY(record(at::kPcrBootInputs, at::measure_initrd(log, *initrd_bytes), "initrd"));
  }
  BULWARK_TRY(record(at::kPcrBootInputs, at::measure_command_line(log, config.vm.cmdline), "command line"));
  auto texts = launch_text_items(monitor, spec_, config, options, svirt);
  if (!texts.ok()) return texts.error().wrap(step);
  std::map<std::string, std::string> text_of;
  for (const LaunchTextItem& item : *texts) text_of[item.name] = item.text;
  BULWARK_TRY(record(at::kPcrBootInputs, at::measure_vm_config(log, text_of[std::string(at::kVmConfigItem)]), "vm-config"));

  // PCR 15: the isolation. Each policy file the VM's processes read, swtpm's filter as
  // compiled, the jail profiles and SELinux contexts, then every binary started for the VM.
  auto names = measured_policy_files(options.seccomp_policy_dir);
  if (!names.ok()) return names.error().wrap(step);
  for (const std::string& name : *names) {
    auto bytes = read_path(options.seccomp_policy_dir + "/" + name);
    if (!bytes.ok()) return bytes.error().wrap(step);
    const std::string item = "seccomp " + name.substr(0, name.size() - 7);
    BULWARK_TRY(record(at::kPcrIsolation, at::measure_isolation_item(log, item, *bytes), item));
  }
  BULWARK_TRY(record(at::kPcrIsolation, at::measure_isolation_item(log, "seccomp swtpm compiled", compiled_policy_),
                     "seccomp swtpm compiled"));
  for (const LaunchTextItem& item : *texts) {
    if (item.pcr != at::kPcrIsolation) continue;
    BULWARK_TRY(record(at::kPcrIsolation, at::measure_isolation_item(log, item.name, as_bytes(item.text)), item.name));
  }
  std::vector<std::pair<std::string, std::string>> binaries = {{"monitor", options.monitor_path}};
  if (!config.disks.empty()) binaries.emplace_back("dev-blk", options.dev_blk_path);
  if (!config.nets.empty()) binaries.emplace_back("dev-net", options.dev_net_path);
  if (config.rng) binaries.emplace_back("dev-rng", options.dev_rng_path);
  if (config.vsock) binaries.emplace_back("dev-vsock", options.dev_vsock_path);
  binaries.emplace_back("swtpm", swtpm_path_);
  for (const auto& [name, path] : binaries) {
    auto bytes = read_path(path);
    if (!bytes.ok()) return bytes.error().wrap(step);
    const std::string item = "binary " + name;
    BULWARK_TRY(record(at::kPcrIsolation, at::measure_isolation_item(log, item, *bytes), item));
  }

  for (const Pending& pending : extends) {
    if (Status s = client->pcr_extend(pending.pcr, pending.digests, sha384); !s.ok()) {
      return s.error().wrap(step + ": " + pending.what);
    }
  }
  // The TPM must now hold what the log replays to: anything else (another client extended in
  // between, swtpm misbehaving) fails the launch rather than hand out a log that does not verify.
  auto parsed = at::parse_event_log(log.bytes());
  if (!parsed.ok()) return parsed.error().wrap(step + ": the log written");
  auto replayed = at::replay_pcrs(*parsed);
  if (!replayed.ok()) return replayed.error().wrap(step);
  for (uint32_t pcr : {at::kPcrBootInputs, at::kPcrIsolation}) {
    auto read = client->pcr_read(pcr);
    if (!read.ok()) return read.error().wrap(step);
    for (const at::PcrReadBank& bank : read->banks) {
      const bool same = bank.alg == at::kAlgSha256
                            ? std::equal(bank.digest.begin(), bank.digest.end(), replayed->sha256[pcr].begin())
                            : std::equal(bank.digest.begin(), bank.digest.end(), replayed->sha384[pcr].begin());
      if (!same) return Error(step + ": PCR " + std::to_string(pcr) + " differs from the event log's replay");
    }
  }

  // The attestation key, made now so its public area is on record before the guest runs: a
  // primary key from a fixed template, so `bulwark attest quote` makes the same key again from
  // the same state (and checks it is this one). Transient: flushed at once.
  auto ak = client->create_ak();
  if (!ak.ok()) return ak.error().wrap(step + ": attestation key");
  if (Status s = client->flush(ak->handle); !s.ok()) return s.error().wrap(step + ": attestation key");
  BULWARK_TRY(write_whole_file(ak_public_path(), at::ak_public_file(ak->ak.area), step));
  // The log, written whole then renamed into place: a reader never sees half of it.
  BULWARK_TRY(write_whole_file(event_log_path(), log.bytes(), step));
  if (!report_key_.empty()) {
    BULWARK_TRY(write_report(log.bytes(), text_of, config.jail.id));
  }
  const std::string path = event_log_path();
  log::info("VM " + config.jail.id + ": measured launch: " + std::to_string(log.event_count()) + " events (PCR 9, 15" +
            std::string(sha384 ? ", SHA-256 and SHA-384" : ", SHA-256 only") + "), event log " + path +
            ", attestation key " + ak_public_path() + (report_ ? ", signed report " + report_path() : ""));
  return ok_status();
}

Status VmTpm::write_report(std::span<const uint8_t> event_log, const std::map<std::string, std::string>& texts,
                           const std::string& vm_id) {
  const std::string step = "jail step measure: launch report";
  auto report = attestation::build_launch_report(vm_id, attestation::report_time_now(), event_log, texts);
  if (!report.ok()) return report.error().wrap(step);
  SignedLaunchReport signed_report;
  signed_report.json = attestation::report_json(*report);
  auto signature = attestation::sign_report(report_key_, as_bytes(signed_report.json));
  if (!signature.ok()) return signature.error().wrap(step);
  signed_report.signature = std::move(*signature);
  BULWARK_TRY(write_whole_file(report_path(), as_bytes(signed_report.json), step));
  BULWARK_TRY(write_whole_file(report_signature_path(), signed_report.signature, step));
  report_ = std::move(signed_report);
  return ok_status();
}

void VmTpm::stop(std::chrono::milliseconds grace) {
  if (jail_) {
    const ProcessEnd end = jail_->stop(grace);
    const std::string text = "swtpm " + describe_process_end(end);
    if (end.exited && end.exit_code == 0) {
      log::info(text);
    } else {
      log::warn(text);
    }
    if (Status s = jail_->teardown(); !s.ok()) log::error("teardown of swtpm: " + s.error().message());
    jail_.reset();
  }
  if (!state_dir_.empty()) {
    if (Status s = return_tpm_state(state_dir_); !s.ok()) log::error("teardown of the TPM state: " + s.error().message());
    state_dir_.clear();
  }
  // The sockets and the event log go with the VM; the TPM's state stays in state_dir_.
  if (!run_dir_.empty()) {
    if (Status s = remove_tree(run_dir_); !s.ok()) log::error("teardown of " + run_dir_ + ": " + s.error().message());
    run_dir_.clear();
  }
}

}  // namespace bulwark::jail
