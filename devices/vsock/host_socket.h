// The host side of the VM's vsock: unix stream sockets in the directory the operator gave the
// VM (inside its jail). `<uds_path>` is the listener host clients connect to (inherited from
// the launcher as an fd, or bound here for tests); `<uds_path>_<port>` is where a guest
// connection to host port `port` goes. The path comes from the launcher (operator), never
// from the guest: the guest only picks the port number. Every call is non-blocking.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"

namespace bulwark::vsock {

// Checks that `<uds_path>_<any u32>` fits a sockaddr_un (start-up).
Status check_uds_path(const std::string& uds_path);
// Binds and listens on `path` (tests and interop; the launcher passes a listener fd).
Result<UniqueFd> listen_unix(const std::string& path);
// Checks an inherited fd is a listening unix stream socket and makes it non-blocking.
Result<UniqueFd> adopt_listener(int fd);
// Accepts one waiting client (non-blocking, close-on-exec): an invalid fd when none waits.
Result<UniqueFd> accept_client(int listener);
// Connects to `<uds_path>_<port>`. An Error when nobody listens there (or its backlog is full).
Result<UniqueFd> connect_port(const std::string& uds_path, uint32_t port);

// What a non-blocking transfer did.
struct IoResult {
  size_t bytes = 0;
  bool would_block = false;  // nothing (more) could move now
  bool closed = false;       // receive: the peer shut its write side (EOF)
  int error = 0;             // errno of a failed socket (reset, broken pipe); 0 if none
};
// Sends what the socket takes now (never SIGPIPE).
IoResult send_some(int fd, std::span<const uint8_t> bytes);
// Receives into `buffers` in order, at most `limit` bytes.
IoResult receive_some(int fd, std::span<const std::span<uint8_t>> buffers, size_t limit);

}  // namespace bulwark::vsock
