// The monitor's connection to the VM's swtpm data channel (raw TPM 2.0 commands, one at a
// time), handed over by the launcher as an inherited, connected socket. A command is sent and
// its whole response read within a deadline: a stuck or dead swtpm makes transact() fail (the
// caller fails the TPM device), it never holds the vCPU forever.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"

namespace bulwark::tpm {

class SwtpmLink {
 public:
  SwtpmLink(UniqueFd fd, std::chrono::milliseconds deadline) : fd_(std::move(fd)), deadline_(deadline) {}

  // Sends `command` and reads the response: its header checked (swtpm_response.h) against
  // `max_response`, then exactly the size it gives. Calls: sendmsg, recvmsg, poll.
  Result<std::vector<uint8_t>> transact(std::span<const uint8_t> command, size_t max_response);

 private:
  UniqueFd fd_;
  std::chrono::milliseconds deadline_;
};

}  // namespace bulwark::tpm
