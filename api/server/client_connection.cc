#include "api/server/client_connection.h"

#include <errno.h>
#include <sys/socket.h>

#include <algorithm>
#include <utility>

#include "api/server/response_text.h"

namespace bulwark::api {

namespace {

// One read per poll wake-up: a client cannot monopolise the loop, and at most this much of its
// input is held before it is parsed.
constexpr size_t kReadChunkBytes = 16 * 1024;
// Written bytes at the front of the output are dropped once there are this many.
constexpr size_t kCompactOutputBytes = 64 * 1024;

}  // namespace

ClientConnection::ClientConnection(UniqueFd socket, uint64_t id, const ClientLimits& limits,
                                   Clock::time_point now)
    : socket_(std::move(socket)),
      id_(id),
      limits_(limits),
      reader_(limits.http),
      input_(kReadChunkBytes),
      last_progress_(now) {}

ClientConnection::Received ClientConnection::receive(Clock::time_point now) {
  ssize_t n;
  do {
    n = ::recv(socket_.get(), input_.data(), input_.size(), MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    input_end_ = static_cast<size_t>(n);
    input_fed_ = 0;
    last_progress_ = now;
    return Received::kBytes;
  }
  if (n == 0) {
    // A half-closed client still gets the answers it is owed; a partial request is dropped.
    input_ended_ = true;
    reads_requests_ = false;
    request_started_.reset();
    return Received::kEnded;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK) return Received::kNothing;
  return Received::kFailed;
}

void ClientConnection::update_request_timer(Clock::time_point now) {
  if (!reader_.in_request()) {
    request_started_.reset();
  } else if (!request_started_) {
    request_started_ = now;
  }
}

std::optional<HttpRequestReader::Outcome> ClientConnection::next_request(Clock::time_point now) {
  if (!reads_requests_ || answers_.size() >= limits_.max_unanswered_requests || input_fed_ >= input_end_) {
    return std::nullopt;
  }
  const std::span<const uint8_t> unparsed(input_.data() + input_fed_, input_end_ - input_fed_);
  HttpRequestReader::Outcome outcome = reader_.feed(unparsed);
  input_fed_ += std::min(outcome.consumed, unparsed.size());
  switch (outcome.state) {
    case HttpRequestReader::State::kNeedMore:
      input_fed_ = input_end_;
      update_request_timer(now);
      return std::nullopt;
    case HttpRequestReader::State::kError:
      input_fed_ = input_end_;
      reads_requests_ = false;
      request_started_.reset();
      return outcome;
    case HttpRequestReader::State::kRequest:
      if (!outcome.request.keep_alive) {
        reads_requests_ = false;
        request_started_.reset();
      } else {
        update_request_timer(now);
      }
      return outcome;
  }
  return std::nullopt;
}

void ClientConnection::answer(HttpResponse response, bool close_after, Clock::time_point now) {
  answers_.push_back(Answer{0, std::move(response), close_after});
  queue_ready_answers(now);
}

uint64_t ClientConnection::await_answer(bool close_after) {
  const uint64_t ticket = next_ticket_++;
  answers_.push_back(Answer{ticket, std::nullopt, close_after});
  return ticket;
}

void ClientConnection::fill(uint64_t ticket, HttpResponse response, Clock::time_point now) {
  for (Answer& awaited : answers_) {
    if (awaited.ticket == ticket && !awaited.response) {
      awaited.response = std::move(response);
      break;
    }
  }
  queue_ready_answers(now);
}

void ClientConnection::refuse_and_close(uint16_t status, std::string_view message, Clock::time_point now) {
  reads_requests_ = false;
  request_started_.reset();
  answer(fault_response(status, message), /*close_after=*/true, now);
}

void ClientConnection::fail_awaited(uint16_t status, std::string_view message, Clock::time_point now) {
  for (Answer& awaited : answers_) {
    if (!awaited.response) awaited.response = fault_response(status, message);
  }
  queue_ready_answers(now);
}

void ClientConnection::queue_ready_answers(Clock::time_point now) {
  if (!answers_.empty() && answers_.front().response) last_progress_ = now;
  while (!answers_.empty() && answers_.front().response) {
    if (close_when_written_) {
      // Nothing is read after a closing answer; nothing may be written after it either.
      answers_.clear();
      return;
    }
    Answer& ready = answers_.front();
    output_ += response_text(*ready.response, ready.close_after);
    if (ready.close_after) {
      close_when_written_ = true;
      reads_requests_ = false;
    }
    answers_.pop_front();
  }
}

bool ClientConnection::send_queued(Clock::time_point now) {
  while (output_sent_ < output_.size()) {
    const ssize_t n = ::send(socket_.get(), output_.data() + output_sent_, output_.size() - output_sent_,
                             MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      output_sent_ += static_cast<size_t>(n);
      last_progress_ = now;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    return false;
  }
  if (output_sent_ == output_.size() || output_sent_ >= kCompactOutputBytes) {
    output_.erase(0, output_sent_);
    output_sent_ = 0;
  }
  return true;
}

bool ClientConnection::in_flight() const {
  return (reads_requests_ && reader_.in_request()) || !answers_.empty();
}

ClientConnection::Expired ClientConnection::expired(Clock::time_point now) const {
  if (request_started_ && now - *request_started_ >= limits_.request_timeout) return Expired::kRequestTimeout;
  if (!in_flight() && now - last_progress_ >= limits_.idle_timeout) return Expired::kIdle;
  return Expired::kNone;
}

std::optional<ClientConnection::Clock::time_point> ClientConnection::deadline() const {
  std::optional<Clock::time_point> earliest;
  if (request_started_) earliest = *request_started_ + limits_.request_timeout;
  if (!in_flight()) {
    const Clock::time_point idle_end = last_progress_ + limits_.idle_timeout;
    if (!earliest || idle_end < *earliest) earliest = idle_end;
  }
  return earliest;
}

bool ClientConnection::wants_input() const {
  return reads_requests_ && !input_ended_ && input_fed_ >= input_end_ &&
         answers_.size() < limits_.max_unanswered_requests;
}

bool ClientConnection::finished() const {
  return !reads_requests_ && answers_.empty() && queued_output_bytes() == 0;
}

}  // namespace bulwark::api
