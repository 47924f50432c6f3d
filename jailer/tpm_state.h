// A VM's vTPM state directory, <state_dir>/<vm id> under the operator's host config "tpm"
// (jailer/tpm_host_config.h): made on the VM's first launch by swtpm_setup (an EK and its
// certificate, and a platform certificate, from swtpm_setup's local CA; the SHA-256 and SHA-384
// PCR banks active), then kept across launches: nothing of Bulwark ever removes it (not the
// teardown, not the sweep). Inputs: the operator's paths and the launcher's VM id.
#pragma once

#include <sys/types.h>

#include <string>

#include "bulwark/common/result.h"
#include "jailer/tpm_host_config.h"

namespace bulwark::jail {

struct TpmStateDir {
  std::string path;      // <state_dir>/<vm id>
  bool created = false;  // swtpm_setup ran on this launch (the VM's first)
};

// Makes <state_dir> (root, 0711) if missing; on the VM's first launch runs swtpm_setup as root
// into <state_dir>/.<vm id>.new (a leftover of an interrupted setup is removed first) and renames
// it into place, so a half-made state is never used. Then hands the directory and the regular
// files in it to the VM's uid/gid (the uid is allocated per launch; swtpm runs as it), through
// fds opened O_NOFOLLOW: a symlink left there by a previous launch's swtpm is refused.
Result<TpmStateDir> prepare_tpm_state(const TpmHostConfig& tpm, const std::string& vm_id, uid_t uid, gid_t gid);

// At teardown: the directory and its files back to root, so a later VM given the same uid (uids
// are allocated per launch) never owns this VM's TPM state.
Status return_tpm_state(const std::string& path);

}  // namespace bulwark::jail
