// The launcher's end of the monitor's control channel (monitor/vmm/control_channel.h): one
// command (api/command/command.h) per SOCK_SEQPACKET datagram, one reply each, in order. The
// monitor runs the guest, so its replies are decoded as hostile; a channel that times out or
// answers nonsense is given up (fd set to -1), since later replies would be out of step.
#pragma once

#include <chrono>

#include "api/command/command.h"

namespace bulwark::jail {

api::Reply monitor_request(int& control_fd, const api::Command& command,
                           std::chrono::milliseconds timeout = std::chrono::seconds(5));

// The same with `passed_fd` (>= 0) travelling with the command as one SCM_RIGHTS fd (the
// ReplaceDevice command's new device socket); -1 sends the command alone. The caller keeps its
// copy of the fd.
api::Reply monitor_request_with_fd(int& control_fd, const api::Command& command, int passed_fd,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace bulwark::jail
