// Sockets labelled at creation (create_context.h): the launcher makes the monitor<->device
// socketpairs, and the console and log channels, under the monitor's context, so both ends carry
// the VM's level.
#pragma once

#include <string>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"
#include "jailer/svirt/create_context.h"

namespace bulwark::jailer {

struct SocketPairEnds {
  UniqueFd first;
  UniqueFd second;
};

// A connected AF_UNIX stream socketpair, close-on-exec, both ends created under `context`
// ("" = the caller's own context, i.e. SELinux not in use). The socket-create context is reset
// before returning, whatever happened.
Result<SocketPairEnds> make_labelled_socketpair(const std::string& context);
// The same, SOCK_SEQPACKET (message channels: the API process's and the monitor's control).
Result<SocketPairEnds> make_labelled_seqpacket_pair(const std::string& context);

}  // namespace bulwark::jailer
