// The eventfds a backend shares with the frontend and KVM (kick, call, err). The frontend
// chose them, so none may block this process: they are made non-blocking on arrival, and a
// full or empty counter is not an error.
#pragma once

#include <string>

#include "bulwark/common/result.h"

namespace bulwark::backend::detail {

Status make_nonblocking(int fd, const std::string& what);
// Adds one to the counter; no-op for -1 (no fd given).
void signal_eventfd(int fd);
// Resets the counter (a kick already seen).
void drain_eventfd(int fd);

}  // namespace bulwark::backend::detail
