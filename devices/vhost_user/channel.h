// Sending and receiving vhost-user messages on a connected unix stream socket, fds included
// (SCM_RIGHTS). The peer is untrusted: a header announcing more than kMaxPayload bytes, more
// than kMaxFds fds or truncated control data is refused; received fds are close-on-exec.
#pragma once

#include <chrono>

#include "bulwark/common/result.h"
#include "devices/vhost_user/protocol.h"

namespace bulwark::vhost_user {

Status send_message(int socket_fd, const Message& message);

// Blocking read of one whole message. The peer closing the connection between messages gives
// an Error whose message contains "closed".
Result<Message> receive_message(int socket_fd);

// The same, giving up after `timeout` without a complete message (a hung peer).
Result<Message> receive_message_within(int socket_fd, std::chrono::milliseconds timeout);

}  // namespace bulwark::vhost_user
