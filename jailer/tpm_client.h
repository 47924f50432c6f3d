// The launcher's connection to a VM's swtpm data socket (the raw TPM 2.0 command stream of
// `swtpm socket --server type=unixio`): one command at a time, each answer read whole and
// parsed as hostile (attestation/tpm2_response.h; swtpm runs as the VM's uid and serves the
// guest). Used before the VM's monitor starts, for the measured launch
// and the AK, and by `bulwark attest quote` while the VM runs.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "attestation/event_log.h"
#include "attestation/tpm2_quote_response.h"
#include "attestation/tpm2_response.h"
#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"

namespace bulwark::jail {

class TpmClient {
 public:
  // Connects to the socket at `path`, retrying for up to `wait_ms` while swtpm starts.
  static Result<TpmClient> connect(const std::string& path, int wait_ms = 5000);

  // Sends `command` and returns the response: a header of a size within the TPM's buffer and
  // then exactly that many bytes, each read within 5 s. A command the TPM asks to have sent again
  // (TPM_RC_RETRY, _YIELDED, _TESTING) is, up to 20 times.
  Result<std::vector<uint8_t>> transact(std::span<const uint8_t> command);

  Status startup_clear();
  Status pcr_extend(uint32_t pcr, const attestation::Digests& digests, bool with_sha384);
  Result<attestation::PcrReadResult> pcr_read(uint32_t pcr);

  // The quote (attestation/tpm2_quote_command.h): the AK made from its fixed template under the
  // endorsement hierarchy (a transient object: flush it), a quote of PCRs 9 and 15 by it.
  Result<attestation::CreatedAk> create_ak();
  Result<attestation::QuoteResponse> quote(uint32_t ak_handle, std::span<const uint8_t> nonce);
  Status flush(uint32_t handle);

 private:
  Result<std::vector<uint8_t>> transact_once(std::span<const uint8_t> command);
  explicit TpmClient(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace bulwark::jail
