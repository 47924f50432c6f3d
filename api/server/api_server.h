// bulwark-api's event loop: API clients connect to a listening unix socket and speak
// Firecracker's HTTP/JSON API; each request becomes either a local answer (route()) or a typed
// command sent to the launcher over a SOCK_SEQPACKET channel, one at a time, whose reply becomes
// the client's answer. Input: API clients' bytes (hostile, bounded per client by ClientLimits)
// and the launcher's replies (decoded as untrusted; one that does not decode ends the process,
// since later replies could no longer be matched to their commands).
//
// Single-threaded, poll()-driven, every fd non-blocking. The calls run() makes are exactly
// those policy/seccomp/api.policy allows.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/server/client_connection.h"
#include "api/server/refusal_log.h"
#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"

namespace bulwark::api {

struct ApiServerConfig {
  size_t max_clients = 16;  // one more is accepted, answered 503 and closed
  // The launcher must answer a command within this; else the client gets 504 and run() fails.
  std::chrono::milliseconds launcher_timeout{30000};
  ClientLimits client;
  size_t refusal_log_lines_per_second = 10;
};

class ApiServer {
 public:
  using Clock = std::chrono::steady_clock;

  // `listener`: a listening AF_UNIX SOCK_STREAM socket; `launcher`: a connected SOCK_SEQPACKET
  // socket. Both are checked and made non-blocking here (before any seccomp policy).
  static Result<ApiServer> create(UniqueFd listener, UniqueFd launcher, ApiServerConfig config = {});

  // Serves until the launcher's end of the channel closes (ok: the process exits 0) or the
  // channel breaks: a reply that does not decode, a reply with no command, no reply in time
  // (an Error: the process exits nonzero). Clients' answers already made are written on a best
  // effort basis before it returns.
  Status run();

 private:
  ApiServer(UniqueFd listener, UniqueFd launcher, ApiServerConfig config);

  struct QueuedCommand {
    uint64_t client_id = 0;
    uint64_t ticket = 0;
    std::vector<uint8_t> bytes;
    std::string name;
  };
  struct Outstanding {
    uint64_t client_id = 0;
    uint64_t ticket = 0;
    Clock::time_point deadline;
    std::string name;
  };

  // What one pass of the loop decided: keep going, or stop with this status.
  using Stop = std::optional<Status>;

  int poll_timeout_ms(Clock::time_point now) const;
  Status accept_clients(Clock::time_point now);
  void reject_over_capacity(UniqueFd socket, Clock::time_point now);
  void serve_requests(ClientConnection& client, Clock::time_point now);
  void handle_request(ClientConnection& client, HttpRequest request, Clock::time_point now);
  void expire_timers(Clock::time_point now);
  Stop send_next_command(Clock::time_point now);
  Stop receive_reply(Clock::time_point now);
  Stop launcher_gone(Clock::time_point now);
  Stop check_launcher_deadline(Clock::time_point now);
  void answer_outstanding(const HttpResponse& response, Clock::time_point now);
  void drop_client_at(size_t index);
  void drop_finished_clients(Clock::time_point now);
  ClientConnection* find_client(uint64_t id);
  void log_refusal(uint64_t client_id, std::string_view label, const HttpResponse& response,
                   Clock::time_point now);
  // Writes what can be written to every client, then returns `status` (run()'s last step).
  Status finish(Status status);

  UniqueFd listener_;
  UniqueFd launcher_;
  ApiServerConfig config_;
  std::vector<std::unique_ptr<ClientConnection>> clients_;
  uint64_t next_client_id_ = 1;
  std::deque<QueuedCommand> commands_;  // not yet sent to the launcher, in arrival order
  std::optional<Outstanding> outstanding_;
  bool launcher_writable_ = true;  // false after EAGAIN: wait for POLLOUT
  std::optional<Clock::time_point> accept_paused_until_;  // after EMFILE and friends
  RefusalLog refusals_;
  std::vector<uint8_t> reply_buffer_;  // one launcher datagram, and a byte to see it is too long
};

}  // namespace bulwark::api
