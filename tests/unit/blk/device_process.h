// Starts a real device process (bulwark-dev-blk / bulwark-dev-rng) on one end of a socketpair,
// as the launcher would: the socket as fd 3, an optional image as fd 4, and `more_fds` as fds 5,
// 6, ... (a qcow2 disk's backing chain).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"

namespace bulwark::test {

struct DeviceProcess {
  pid_t pid = -1;
  UniqueFd socket;  // the frontend's end

  // Waits for the process; its wait status.
  int wait();
};

Result<DeviceProcess> start_device_process(const std::string& binary, std::vector<std::string> args,
                                           int image_fd = -1, const std::vector<int>& more_fds = {});

}  // namespace bulwark::test
