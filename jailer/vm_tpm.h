// A VM's vTPM (issue 16): its swtpm, jailed (tpm_spec.h), on its persistent state
// (tpm_state.h), and the measured launch the launcher makes through it before the monitor
// starts. Inputs: the operator's host config "tpm", the tenant's "tpm": true, and the launch's
// own inputs, which are measured (kernel, initrd, command line, policies, jail profiles,
// binaries).
//
// The VM's TPM run directory <run_dir>/tpm/<vm id> (root, 0750) holds, while the VM runs:
//   swtpm.sock        swtpm's data socket (raw TPM 2.0 commands; tpm2-tools: TCTI
//                     "swtpm:path=<run_dir>/tpm/<vm id>/swtpm.sock")
//   swtpm.sock.ctrl   its control socket (the name the swtpm TCTI derives from the data socket's)
//   eventlog.bin      the TCG crypto-agile event log of the launch (attestation/README.md;
//                     `tpm2_eventlog eventlog.bin` replays it to the PCRs the TPM holds)
//   ak.pub            the attestation key's public area (TPM2B_PUBLIC, as tpm2-tools writes
//                     it), made after the measurements; `bulwark attest quote` quotes with it
//   launch-report.json  the launch report (attestation/launch_report.h), with the host config's
//   launch-report.sig   "tpm": {"report_key"}: its ECDSA P-384 signature, DER (report_signature.h)
// It is removed at teardown; the state directory never is.
#pragma once

#include <chrono>
#include <map>
#include <span>
#include <vector>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "attestation/event_log_writer.h"
#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"
#include "jailer/jail.h"
#include "jailer/jail_config.h"
#include "jailer/log_relay.h"
#include "jailer/monitor_spec.h"
#include "jailer/svirt/vm_svirt.h"

namespace bulwark::jail {

inline constexpr const char* kTpmDataSocketName = "swtpm.sock";
inline constexpr const char* kTpmControlSocketName = "swtpm.sock.ctrl";
inline constexpr const char* kTpmEventLogName = "eventlog.bin";
inline constexpr const char* kTpmAkPublicName = "ak.pub";
inline constexpr const char* kLaunchReportName = "launch-report.json";
inline constexpr const char* kLaunchReportSignatureName = "launch-report.sig";

// A launch report and the host's signature of its bytes.
struct SignedLaunchReport {
  std::string json;
  std::vector<uint8_t> signature;  // DER
};

// GET /attestation's body: {"report": <the report, a JSON object>, "signature": "<base64 DER>"}.
// The report object serializes back (compact, keys sorted) to the bytes signed.
nlohmann::json attestation_body(const SignedLaunchReport& report);

// <run_dir>/tpm/<vm id>
std::string vm_tpm_run_dir(const std::string& run_dir, const std::string& vm_id);

// The *.policy files of the seccomp policy directory, sorted by name: what the launcher measures
// into PCR 15 and `bulwark attest reference` digests in the same order.
Result<std::vector<std::string>> measured_policy_files(const std::string& dir);

class VmTpm {
 public:
  // Step tpm: the state directory (made by swtpm_setup on the first launch, handed to the VM's
  // uid), the run directory and its two listening sockets, swtpm.policy compiled, swtpm jailed
  // and started (its stderr the log relay's channel "swtpm"). First of all, with the host
  // config's "tpm": {"report_key"}, the key is read (tpm_report_key.h: root's, mode 0600 or
  // 0400, P-384), or the launch is refused naming the field.
  static Result<VmTpm> start(const LaunchConfig& config, const MonitorLaunchOptions& options,
                             jailer::VmSvirt& svirt, const std::string& run_dir, LogRelay* logs);

  VmTpm(VmTpm&&) noexcept = default;
  VmTpm& operator=(VmTpm&&) noexcept = default;
  ~VmTpm() { stop(std::chrono::milliseconds(0)); }

  // Step measure, before the monitor starts: TPM2_Startup(CLEAR), then each launch input as an
  // event of the log and a PCR_Extend of its digests (SHA-256, and SHA-384 when swtpm has that
  // bank active): PCR 9 the kernel, initrd and command line of `monitor` (read from the fds
  // step vm-files opened, what the monitor's jail binds) and the canonical VM config; PCR 15 each
  // policy file of the policy directory, swtpm's compiled filter, the jail profiles of the
  // monitor, each device process and swtpm, the SELinux contexts of the monitor and each device
  // (launch_measurements.h) and the binary of every process of the VM. Then PCRs 9 and 15 are
  // read back and compared with the log's
  // replay, and the log is written to eventlog.bin. Last, the attestation key is created
  // (TPM2_CreatePrimary of attestation/tpm2_quote_command.h's template), its public area written
  // to ak.pub, and flushed. With a report key, the launch report is built, signed and written
  // (launch-report.json, launch-report.sig; root, 0640) and kept for GET /attestation.
  Status measure(const JailSpec& monitor, const LaunchConfig& config, const MonitorLaunchOptions& options,
                 const jailer::VmSvirt& svirt);

  // Step tpm-link, after measure(): a new connection to swtpm's data socket, for the monitor
  // (its "tpm_fd"; the guest's CRB TPM forwards commands on it). swtpm serves one connection at
  // a time: from here on the VM's guest owns the TPM, and a host-side client (tpm2-tools'
  // swtpm TCTI, `bulwark attest quote`) waits until the monitor's connection ends.
  Result<UniqueFd> connect_for_monitor() const;

  // The signed report, once measure() made one (a host config with "report_key").
  const std::optional<SignedLaunchReport>& report() const { return report_; }

  const std::string& run_dir() const { return run_dir_; }
  std::string data_socket() const { return run_dir_ + "/" + kTpmDataSocketName; }
  std::string event_log_path() const { return run_dir_ + "/" + kTpmEventLogName; }
  std::string ak_public_path() const { return run_dir_ + "/" + kTpmAkPublicName; }
  std::string report_path() const { return run_dir_ + "/" + kLaunchReportName; }
  std::string report_signature_path() const { return run_dir_ + "/" + kLaunchReportSignatureName; }

  // SIGTERM to swtpm, SIGKILL after `grace`; its jail and the run directory removed; the state
  // directory kept. Idempotent.
  void stop(std::chrono::milliseconds grace);

 private:
  VmTpm() = default;
  Status write_report(std::span<const uint8_t> event_log, const std::map<std::string, std::string>& texts,
                      const std::string& vm_id);
  std::string run_dir_;
  std::string state_dir_;
  std::string swtpm_path_;
  JailSpec spec_;  // swtpm's, as started: its jail profile is measured
  std::vector<uint8_t> compiled_policy_;
  std::string report_key_;  // PEM; "" = no report
  std::optional<SignedLaunchReport> report_;
  std::unique_ptr<RunningJail> jail_;
};

}  // namespace bulwark::jail
