// The launcher's end of a device process's control channel (devices/README.md, "Control
// channel"): one command out, one answer back within a bounded time. Whose input: the answer is
// a jailed device process's (a process the guest drives): exactly one fixed-size message,
// decoded strictly. A channel that fails or stays silent is given up (fd set to -1): a late
// answer would otherwise be read as the next command's.
#pragma once

#include <chrono>

#include "bulwark/common/result.h"
#include "devices/control/control_message.h"

namespace bulwark::jail {

inline constexpr std::chrono::milliseconds kDeviceControlTimeout{1000};

Result<devctl::ControlReply> device_control_request(int& fd, const devctl::ControlCommand& command,
                                                    std::chrono::milliseconds timeout = kDeviceControlTimeout);

}  // namespace bulwark::jail
