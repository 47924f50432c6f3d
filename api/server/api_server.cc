#include "api/server/api_server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <climits>
#include <utility>

#include "api/command/command.h"
#include "api/routes/router.h"
#include "api/server/response_text.h"
#include "bulwark/common/log.h"

namespace bulwark::api {

namespace {

using Clock = ApiServer::Clock;

// After accept() ran out of fds or memory: the listener stays readable, so wait a little before
// trying again instead of spinning.
constexpr auto kAcceptPause = std::chrono::milliseconds(100);
// Connections taken from the backlog per wake-up, so clients already connected get a turn.
constexpr int kAcceptsPerWake = 32;

Status check_socket(int fd, const std::string& what, int want_type, bool want_listening) {
  const auto option = [fd](int name) -> Result<int> {
    int value = 0;
    socklen_t length = sizeof value;
    if (::getsockopt(fd, SOL_SOCKET, name, &value, &length) != 0) return Error::from_errno("getsockopt", errno);
    return value;
  };
  const std::string described = what + " (fd " + std::to_string(fd) + ")";
  auto type = option(SO_TYPE);
  if (!type.ok()) return Error(described + " is not a socket: " + type.error().message(), type.error().errno_value());
  auto domain = option(SO_DOMAIN);
  if (!domain.ok()) return domain.error().wrap(described);
  if (*domain != AF_UNIX || *type != want_type) {
    return Error(described + " is not an AF_UNIX " + (want_type == SOCK_STREAM ? "SOCK_STREAM" : "SOCK_SEQPACKET") +
                 " socket");
  }
  if (want_listening) {
    auto listening = option(SO_ACCEPTCONN);
    if (!listening.ok()) return listening.error().wrap(described);
    if (*listening == 0) return Error(described + " is not listening");
  }
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    return Error::from_errno(described + ": setting O_NONBLOCK", errno);
  }
  return ok_status();
}

std::string seconds_text(std::chrono::milliseconds duration) {
  const auto ms = duration.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  return std::to_string(ms) + " ms";
}

}  // namespace

Result<ApiServer> ApiServer::create(UniqueFd listener, UniqueFd launcher, ApiServerConfig config) {
  BULWARK_TRY(check_socket(listener.get(), "the API socket", SOCK_STREAM, true));
  BULWARK_TRY(check_socket(launcher.get(), "the launcher channel", SOCK_SEQPACKET, false));
  if (config.max_clients == 0 || config.client.max_unanswered_requests == 0) {
    return Error("API server: max_clients and max_unanswered_requests must be at least 1");
  }
  return ApiServer(std::move(listener), std::move(launcher), config);
}

ApiServer::ApiServer(UniqueFd listener, UniqueFd launcher, ApiServerConfig config)
    : listener_(std::move(listener)),
      launcher_(std::move(launcher)),
      config_(config),
      refusals_(config.refusal_log_lines_per_second),
      reply_buffer_(kMaxMessageBytes + 1) {}

Status ApiServer::run() {
  std::vector<pollfd> fds;
  for (;;) {
    Clock::time_point now = Clock::now();
    fds.clear();
    const bool launcher_backlog = !launcher_writable_ && !outstanding_ && !commands_.empty();
    fds.push_back(pollfd{launcher_.get(), static_cast<short>(POLLIN | (launcher_backlog ? POLLOUT : 0)), 0});
    fds.push_back(pollfd{accept_paused_until_ ? -1 : listener_.get(), POLLIN, 0});
    const size_t polled_clients = clients_.size();
    for (const auto& client : clients_) {
      const short events = static_cast<short>((client->wants_input() ? POLLIN : 0) | (client->wants_output() ? POLLOUT : 0));
      fds.push_back(pollfd{client->fd(), events, 0});
    }
    if (::poll(fds.data(), fds.size(), poll_timeout_ms(now)) < 0) {
      if (errno == EINTR) continue;
      return finish(Error::from_errno("poll", errno));
    }
    now = Clock::now();
    refusals_.tick(now);
    if (accept_paused_until_ && now >= *accept_paused_until_) accept_paused_until_.reset();

    // The launcher first: its reply frees the channel for the next command.
    if ((fds[0].revents & POLLOUT) != 0) launcher_writable_ = true;
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      if (Stop stop = receive_reply(now)) return finish(std::move(*stop));
    }
    // Backwards, so dropping a client leaves the indices of those still to visit alone.
    for (size_t i = polled_clients; i-- > 0;) {
      const short revents = fds[2 + i].revents;
      ClientConnection& client = *clients_[i];
      bool gone = (revents & (POLLHUP | POLLERR | POLLNVAL)) != 0;
      if (!gone && (revents & POLLIN) != 0) gone = client.receive(now) == ClientConnection::Received::kFailed;
      if (!gone && (revents & POLLOUT) != 0) gone = !client.send_queued(now);
      if (gone) drop_client_at(i);
    }
    if ((fds[1].revents & (POLLIN | POLLERR | POLLHUP)) != 0) {
      if (Status accepted = accept_clients(now); !accepted.ok()) return finish(accepted);
    }
    for (const auto& client : clients_) serve_requests(*client, now);
    expire_timers(now);
    if (Stop stop = check_launcher_deadline(now)) return finish(std::move(*stop));
    if (Stop stop = send_next_command(now)) return finish(std::move(*stop));
    drop_finished_clients(now);
  }
}

int ApiServer::poll_timeout_ms(Clock::time_point now) const {
  std::optional<Clock::time_point> earliest = refusals_.next_deadline();
  const auto consider = [&earliest](std::optional<Clock::time_point> deadline) {
    if (deadline && (!earliest || *deadline < *earliest)) earliest = deadline;
  };
  consider(accept_paused_until_);
  if (outstanding_) consider(outstanding_->deadline);
  for (const auto& client : clients_) consider(client->deadline());
  if (!earliest) return -1;
  if (*earliest <= now) return 0;
  // Rounded up, so the loop does not wake a moment early and spin until the deadline.
  const auto wait = std::chrono::ceil<std::chrono::milliseconds>(*earliest - now).count();
  return static_cast<int>(std::min<int64_t>(wait, INT_MAX));
}

Status ApiServer::accept_clients(Clock::time_point now) {
  for (int i = 0; i < kAcceptsPerWake; ++i) {
    const int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return ok_status();
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of fds or memory: the pending clients wait in the backlog until it passes.
        refusals_.refused(now, Error::from_errno("accepting an API client", errno).message());
        accept_paused_until_ = now + kAcceptPause;
        return ok_status();
      }
      return Error::from_errno("accepting an API client", errno);
    }
    UniqueFd socket(fd);
    if (clients_.size() >= config_.max_clients) {
      reject_over_capacity(std::move(socket), now);
      continue;
    }
    clients_.push_back(std::make_unique<ClientConnection>(std::move(socket), next_client_id_++, config_.client, now));
  }
  return ok_status();
}

void ApiServer::reject_over_capacity(UniqueFd socket, Clock::time_point now) {
  const HttpResponse response = fault_response(
      503, "too many API clients: at most " + std::to_string(config_.max_clients) + " connections at once");
  const std::string text = response_text(response, /*close_connection=*/true);
  // A fresh socket's buffer takes the whole answer; if not, the client only misses the reason.
  (void)::send(socket.get(), text.data(), text.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  log_refusal(next_client_id_++, "", response, now);
}

void ApiServer::serve_requests(ClientConnection& client, Clock::time_point now) {
  while (auto outcome = client.next_request(now)) {
    if (outcome->state == HttpRequestReader::State::kError) {
      log_refusal(client.id(), "", fault_response(outcome->error_status, outcome->error_message), now);
      client.refuse_and_close(outcome->error_status, outcome->error_message, now);
      return;
    }
    handle_request(client, std::move(outcome->request), now);
  }
}

void ApiServer::handle_request(ClientConnection& client, HttpRequest request, Clock::time_point now) {
  const bool close_after = !request.keep_alive;
  Routed routed = route(request);
  if (routed.response || !routed.command) {
    HttpResponse response = routed.response ? std::move(*routed.response)
                                            : fault_response(500, "the request was neither answered nor routed");
    if (response.status >= 400) log_refusal(client.id(), request_label(request.method, request.path), response, now);
    client.answer(std::move(response), close_after, now);
    return;
  }
  std::vector<uint8_t> bytes = encode_command(*routed.command);
  if (bytes.size() > kMaxMessageBytes) {
    const HttpResponse response = fault_response(500, "the request does not fit in one command to the launcher");
    log_refusal(client.id(), request_label(request.method, request.path), response, now);
    client.answer(response, close_after, now);
    return;
  }
  const uint64_t ticket = client.await_answer(close_after);
  commands_.push_back(QueuedCommand{client.id(), ticket, std::move(bytes), command_name(*routed.command)});
}

void ApiServer::expire_timers(Clock::time_point now) {
  for (size_t i = clients_.size(); i-- > 0;) {
    ClientConnection& client = *clients_[i];
    switch (client.expired(now)) {
      case ClientConnection::Expired::kNone:
        break;
      case ClientConnection::Expired::kRequestTimeout: {
        const std::string message =
            "the request was not complete within " + seconds_text(config_.client.request_timeout) + " of its first byte";
        log_refusal(client.id(), "", fault_response(408, message), now);
        client.refuse_and_close(408, message, now);
        break;
      }
      case ClientConnection::Expired::kIdle:
        drop_client_at(i);
        break;
    }
  }
}

ApiServer::Stop ApiServer::send_next_command(Clock::time_point now) {
  if (outstanding_ || commands_.empty() || !launcher_writable_) return std::nullopt;
  QueuedCommand& next = commands_.front();
  ssize_t sent;
  do {
    sent = ::send(launcher_.get(), next.bytes.data(), next.bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      launcher_writable_ = false;
      return std::nullopt;
    }
    if (errno == EPIPE || errno == ECONNRESET) return launcher_gone(now);
    return Stop(Error::from_errno("sending " + next.name + " to the launcher", errno));
  }
  if (static_cast<size_t>(sent) != next.bytes.size()) {
    return Stop(Error("sending " + next.name + " to the launcher: the datagram was cut short"));
  }
  outstanding_ = Outstanding{next.client_id, next.ticket, now + config_.launcher_timeout, std::move(next.name)};
  commands_.pop_front();
  return std::nullopt;
}

ApiServer::Stop ApiServer::receive_reply(Clock::time_point now) {
  ssize_t received;
  do {
    // MSG_TRUNC: the datagram's real length, so an overlong reply is seen as such.
    received = ::recv(launcher_.get(), reply_buffer_.data(), reply_buffer_.size(), MSG_DONTWAIT | MSG_TRUNC);
  } while (received < 0 && errno == EINTR);
  if (received == 0) return launcher_gone(now);
  if (received < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;
    if (errno == ECONNRESET || errno == EPIPE) return launcher_gone(now);
    return Stop(Error::from_errno("receiving from the launcher", errno));
  }
  if (!outstanding_) return Stop(Error("the launcher sent a reply with no command outstanding; the channel is out of step"));
  const size_t length = static_cast<size_t>(received);
  Result<Reply> reply = length > kMaxMessageBytes
                            ? Result<Reply>(Error("a reply of " + std::to_string(length) + " bytes is longer than " +
                                                  std::to_string(kMaxMessageBytes)))
                            : decode_reply(std::span<const uint8_t>(reply_buffer_.data(), length));
  if (!reply.ok()) {
    answer_outstanding(fault_response(500, "the launcher's reply could not be read"), now);
    return Stop(reply.error().wrap("the launcher's reply to " + outstanding_->name));
  }
  HttpResponse response = response_for(*reply);
  if (response.status >= 400) log_refusal(outstanding_->client_id, outstanding_->name, response, now);
  answer_outstanding(response, now);
  outstanding_.reset();
  return std::nullopt;
}

ApiServer::Stop ApiServer::launcher_gone(Clock::time_point now) {
  log::info("the launcher closed the command channel; exiting");
  for (const auto& client : clients_) client->fail_awaited(503, "the launcher has stopped", now);
  commands_.clear();
  outstanding_.reset();
  return Stop(ok_status());
}

ApiServer::Stop ApiServer::check_launcher_deadline(Clock::time_point now) {
  if (!outstanding_ || now < outstanding_->deadline) return std::nullopt;
  const std::string waited = seconds_text(config_.launcher_timeout);
  answer_outstanding(fault_response(504, "the launcher did not answer within " + waited), now);
  return Stop(Error("the launcher did not answer " + outstanding_->name + " within " + waited +
                    "; later replies could not be matched to their commands"));
}

void ApiServer::answer_outstanding(const HttpResponse& response, Clock::time_point now) {
  // A client that left meanwhile is not there any more: its answer is dropped.
  if (ClientConnection* client = find_client(outstanding_->client_id)) client->fill(outstanding_->ticket, response, now);
}

void ApiServer::drop_finished_clients(Clock::time_point now) {
  for (size_t i = clients_.size(); i-- > 0;) {
    ClientConnection& client = *clients_[i];
    if (!client.send_queued(now)) {
      drop_client_at(i);
    } else if (client.over_output_limit()) {
      refusals_.refused(now, "client " + std::to_string(client.id()) + ": closed: it does not read its answers (more than " +
                                 std::to_string(config_.client.max_queued_output_bytes) + " bytes queued)");
      drop_client_at(i);
    } else if (client.finished()) {
      drop_client_at(i);
    }
  }
}

void ApiServer::drop_client_at(size_t index) {
  const uint64_t id = clients_[index]->id();
  // Its commands not yet sent are not sent: nobody would see their answers.
  std::erase_if(commands_, [id](const QueuedCommand& command) { return command.client_id == id; });
  clients_.erase(clients_.begin() + static_cast<std::ptrdiff_t>(index));
}

ClientConnection* ApiServer::find_client(uint64_t id) {
  for (const auto& client : clients_) {
    if (client->id() == id) return client.get();
  }
  return nullptr;
}

void ApiServer::log_refusal(uint64_t client_id, std::string_view label, const HttpResponse& response,
                            Clock::time_point now) {
  refusals_.refused(now, describe_refusal(client_id, label, response));
}

Status ApiServer::finish(Status status) {
  const Clock::time_point now = Clock::now();
  for (const auto& client : clients_) (void)client->send_queued(now);
  return status;
}

}  // namespace bulwark::api
