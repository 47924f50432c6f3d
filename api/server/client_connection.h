// One API client's connection to bulwark-api: its socket, the bytes it sent that are not parsed
// yet, its request reader, the answers it is owed (in request order, some still waiting for the
// launcher), the bytes queued for it and its timers. Everything the client sends is hostile; each
// resource it can make bulwark-api hold is bounded (ClientLimits) and the connection ends when a
// bound is hit.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "api/http/http_request.h"
#include "api/routes/router.h"
#include "bulwark/common/unique_fd.h"

namespace bulwark::api {

struct ClientLimits {
  // A request must be complete this long after its first byte (else 408 and close).
  std::chrono::milliseconds request_timeout{5000};
  // A connection with nothing in flight (no partial request, no answer awaited from the
  // launcher) and no progress in either direction for this long is closed.
  std::chrono::milliseconds idle_timeout{60000};
  // More answer bytes than this queued (the client does not read them): the connection closes.
  size_t max_queued_output_bytes = 256 * 1024;
  // Requests answered but not yet written, or awaiting the launcher: beyond this, the client's
  // further requests stay in its socket until answers go out (pipelining backpressure).
  size_t max_unanswered_requests = 32;
  HttpLimits http;
};

class ClientConnection {
 public:
  using Clock = std::chrono::steady_clock;

  // `socket` is connected and non-blocking.
  ClientConnection(UniqueFd socket, uint64_t id, const ClientLimits& limits, Clock::time_point now);
  ClientConnection(const ClientConnection&) = delete;
  ClientConnection& operator=(const ClientConnection&) = delete;

  int fd() const { return socket_.get(); }
  uint64_t id() const { return id_; }

  enum class Received { kBytes, kNothing, kEnded, kFailed };
  // Reads what the socket holds (one bounded chunk). kEnded: the client shut its sending side
  // (answers still go out); kFailed: the connection is gone.
  Received receive(Clock::time_point now);

  // The next complete request (state kRequest) or refusal (state kError: answer it with
  // refuse_and_close) from the bytes received so far; nullopt when more bytes are needed, the
  // connection takes no more requests, or too many answers are outstanding.
  std::optional<HttpRequestReader::Outcome> next_request(Clock::time_point now);

  // Queues the answer to the next request in order (after any awaiting the launcher).
  void answer(HttpResponse response, bool close_after, Clock::time_point now);
  // Reserves the next answer's place; fill() it when the launcher replies.
  uint64_t await_answer(bool close_after);
  void fill(uint64_t ticket, HttpResponse response, Clock::time_point now);
  // Queues a fault answer, reads no more requests, and closes once it is written.
  void refuse_and_close(uint16_t status, std::string_view message, Clock::time_point now);
  // Answers every request still awaiting the launcher with `status` (the launcher is gone).
  void fail_awaited(uint16_t status, std::string_view message, Clock::time_point now);

  // Writes queued bytes until the socket is full. False: the client is gone.
  bool send_queued(Clock::time_point now);

  enum class Expired { kNone, kRequestTimeout, kIdle };
  Expired expired(Clock::time_point now) const;
  std::optional<Clock::time_point> deadline() const;

  bool wants_input() const;
  bool wants_output() const { return queued_output_bytes() > 0; }
  bool over_output_limit() const { return queued_output_bytes() > limits_.max_queued_output_bytes; }
  // Everything owed was written and the connection should close (Connection: close, a refusal,
  // or the client stopped sending and nothing is in flight).
  bool finished() const;

 private:
  struct Answer {
    uint64_t ticket = 0;
    std::optional<HttpResponse> response;  // nullopt while the launcher has not replied
    bool close_after = false;
  };

  size_t queued_output_bytes() const { return output_.size() - output_sent_; }
  bool in_flight() const;
  // Moves the leading answers that are ready into the output, in order. An answer made ready
  // counts as progress: the idle clock restarts when the launcher's reply arrives.
  void queue_ready_answers(Clock::time_point now);
  void update_request_timer(Clock::time_point now);

  UniqueFd socket_;
  uint64_t id_;
  ClientLimits limits_;
  HttpRequestReader reader_;
  std::vector<uint8_t> input_;  // the last chunk received: [input_fed_, input_end_) not parsed yet
  size_t input_fed_ = 0;
  size_t input_end_ = 0;
  std::deque<Answer> answers_;
  uint64_t next_ticket_ = 1;
  std::string output_;
  size_t output_sent_ = 0;
  bool reads_requests_ = true;      // false after a close request, a refusal, or the client's EOF
  bool input_ended_ = false;        // the client shut its sending side
  bool close_when_written_ = false; // the last answer in output_ ends the connection
  std::optional<Clock::time_point> request_started_;  // first byte of a partial request
  Clock::time_point last_progress_;
};

}  // namespace bulwark::api
