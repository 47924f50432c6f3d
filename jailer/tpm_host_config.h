// The operator's host config "tpm" (root-owned input): whether VMs on this host may have a vTPM,
// and where each VM's TPM state lives. Absent: no VM gets a TPM, and a VM config asking for one
// ("tpm": true, the tenant's) is refused by name (jail_config.cc).
//
//   "tpm": {
//     "state_dir": "/var/lib/bulwark/tpm",   each VM's swtpm state in <state_dir>/<vm id>, made
//                                            on its first launch (EK and its certificate from
//                                            swtpm_setup's local CA), kept across launches,
//                                            never removed by teardown or sweep
//     "swtpm": "",                           the swtpm binary ("" = /usr/bin/swtpm)
//     "swtpm_setup": "",                     swtpm_setup ("" = /usr/bin/swtpm_setup)
//     "report_key": ""                       the host's attestation key, a PEM ECDSA P-384
//                                            private key file, root's and readable by root
//                                            alone (mode 0600 or 0400): each measured launch's
//                                            report is signed with it (tpm_report_key.h);
//                                            "" = reports are not written
//   }
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "bulwark/common/result.h"

namespace bulwark::jail {

inline constexpr const char* kDefaultSwtpm = "/usr/bin/swtpm";
inline constexpr const char* kDefaultSwtpmSetup = "/usr/bin/swtpm_setup";

struct TpmHostConfig {
  std::string state_dir;  // "" = no TPMs on this host
  std::string swtpm, swtpm_setup;  // "" = the defaults above
  std::string report_key;          // "" = no signed launch report

  bool enabled() const { return !state_dir.empty(); }
  friend bool operator==(const TpmHostConfig&, const TpmHostConfig&) = default;
};

// Errors name the JSON path (`/tpm/state_dir: ...`). state_dir is required in the object and
// follows the jail base dir's rule (absolute, plain components, not "/").
Status read_host_tpm_config(const nlohmann::json& value, const std::string& path, TpmHostConfig& tpm);
std::string describe_tpm_host_config(const TpmHostConfig& tpm);

}  // namespace bulwark::jail
