// One datagram-sized message on a unix socket with at most one file descriptor beside it
// (SCM_RIGHTS): the launcher's helpers and control sockets pass opened files this way.
// No allocation, so a forked child may call it before it execs or exits.
#pragma once

#include <sys/types.h>

#include <cstddef>

namespace bulwark {

// sendmsg of `size` bytes, with `fd` attached unless it is -1; retried on EINTR, never raises
// SIGPIPE. Returns what sendmsg returned (bytes sent, or -1 with errno set).
ssize_t send_with_fd(int socket, const void* data, size_t size, int fd);

}  // namespace bulwark
