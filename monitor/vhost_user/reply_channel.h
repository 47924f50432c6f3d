// The frontend's side of one vhost-user connection: send a request, wait a bounded time for
// its reply, and check the reply's header. The backend is untrusted: a reply that is late,
// truncated, for another request or without the reply flag is an error, and a backend that
// stops answering can hold a vCPU for at most the timeout.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>

#include "bulwark/common/result.h"
#include "devices/vhost_user/protocol.h"

namespace bulwark::vhost_user {

// Runs before every wait for a reply. Only the fuzz harness sets one: it plays the backend in
// the same thread (reads what was sent, queues its answer or none), so a session is
// deterministic and a silent backend costs no wall time (with a zero timeout).
using BeforeReplyWait = std::function<void()>;

// Fuzz harness only: the connection held in memory instead of a socket, so a session makes no
// system calls for its messages (fuzz/vhost_user_frontend_session_fuzzer.cc, which also runs
// some inputs over a real socket). It must answer as the socket path would with a zero timeout:
// send fails once the peer hung up; receive gives the next whole queued message with the fds
// that came with its header, or the error the socket path gives (no complete message queued,
// a header announcing more than kMaxPayload bytes).
class MessageTransport {
 public:
  virtual ~MessageTransport() = default;
  virtual Status send(const Message& message) = 0;
  virtual Result<Message> receive() = 0;
};

class ReplyChannel {
 public:
  // `socket_fd` is borrowed: a connected unix stream socket. With a `transport` (borrowed, fuzz
  // harness only) the socket is not used at all.
  ReplyChannel(int socket_fd, std::chrono::milliseconds timeout, BeforeReplyWait before_wait = {},
               MessageTransport* transport = nullptr)
      : fd_(socket_fd), timeout_(timeout), before_wait_(std::move(before_wait)), transport_(transport) {}

  // Sets the socket's send timeout, so a backend that stops reading cannot block a send for
  // longer than the reply timeout either. Call once before use (it is a setsockopt).
  Status prepare_socket() const;

  Status send(const Message& request) const;
  // Sends `request` and returns the reply for it, with exactly `fds` file descriptors attached
  // (none but GET_INFLIGHT_FD's reply carries one).
  Result<Message> call(Message request, size_t fds = 0) const;
  // Sends `request` with the need-reply flag and checks the backend's u64 status (0 = done).
  Status call_acked(Message request) const;

 private:
  // Waits until one whole message is queued on the socket (so receive_message cannot block),
  // the peer closes, or the timeout passes.
  Status wait_for_message() const;
  // The next whole message: from the socket once wait_for_message says one is queued, or from
  // the transport.
  Result<Message> receive_reply() const;

  int fd_;
  std::chrono::milliseconds timeout_;
  BeforeReplyWait before_wait_;
  MessageTransport* transport_;
};

}  // namespace bulwark::vhost_user
