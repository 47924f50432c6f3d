// The host side of Firecracker's hybrid vsock: the first line a client of the VM's vsock
// unix socket writes, `CONNECT <port>\n`, and our reply `OK <host_port>\n`. The client is a
// local process the operator lets at the socket; its bytes are still untrusted. Pure.
//
// Accepted: the keyword CONNECT in any letter case (Firecracker compares it lower-cased), one
// space, the guest port in decimal (a u32 below VMADDR_PORT_ANY 4294967295, "0" or no leading
// zero, no sign), an optional '\r', then '\n', all within kMaxConnectLine bytes (Firecracker
// reads at most 32). Stricter than Firecracker, which splits on any whitespace, takes a
// leading '+' or zeros and ignores extra words: a client formatting the line with "%u\n"
// passes both. Bytes after the '\n' are the stream and go to the guest.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "bulwark/common/result.h"

namespace bulwark::vsock {

inline constexpr size_t kMaxConnectLine = 32;  // including the '\n'

struct ConnectRequest {
  uint32_t port = 0;       // the guest port to connect to
  size_t line_length = 0;  // bytes of the line, '\n' included; the stream starts after
};

// `received`: everything the client has sent so far. nullopt: a valid beginning, wait for
// more. Error: refuse and close (message says why) -- as soon as the bytes cannot begin a
// valid line, or kMaxConnectLine bytes have come without a '\n'.
Result<std::optional<ConnectRequest>> parse_connect_line(std::span<const uint8_t> received);

// "OK <host_port>\n": the reply once the guest accepted.
std::string connect_reply(uint32_t host_port);

}  // namespace bulwark::vsock
