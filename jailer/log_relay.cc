#include "jailer/log_relay.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <thread>

#include "bulwark/common/fd_passing.h"
#include "bulwark/common/log.h"
#include "jailer/svirt/socket_create_context.h"
#include "monitor/config/message_text.h"

namespace bulwark::jail {

Result<LogRelay> LogRelay::start(LogRelaySettings settings) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    return Error::from_errno("log relay: socketpair", errno);
  }
  UniqueFd launcher_end(pair[0]), relay_end(pair[1]);
  const pid_t pid = ::fork();
  if (pid < 0) return Error::from_errno("log relay: fork", errno);
  if (pid == 0) {
    (void)launcher_end.release();  // the child never runs destructors: it ends in _exit
    run_log_relay_process(relay_end.release(), settings.output_fd, settings);
  }
  LogRelay relay;
  relay.pid_ = pid;
  relay.control_ = std::move(launcher_end);
  relay.socket_context_ = std::move(settings.socket_context);
  return relay;
}

LogRelay::LogRelay(LogRelay&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      control_(std::move(other.control_)),
      socket_context_(std::move(other.socket_context_)),
      started_ends_(std::move(other.started_ends_)),
      kept_ends_(std::move(other.kept_ends_)) {}

LogRelay& LogRelay::operator=(LogRelay&& other) noexcept {
  if (this != &other) {
    finish(std::chrono::milliseconds(0));
    pid_ = std::exchange(other.pid_, -1);
    control_ = std::move(other.control_);
    socket_context_ = std::move(other.socket_context_);
    started_ends_ = std::move(other.started_ends_);
    kept_ends_ = std::move(other.kept_ends_);
  }
  return *this;
}

LogRelay::~LogRelay() { finish(std::chrono::seconds(2)); }

namespace {

// One control message, with `fd` passed along when it is not -1.
Status send_control(int control, const std::string& message, int fd) {
  const ssize_t sent = send_with_fd(control, message.data(), message.size(), fd);
  if (sent != static_cast<ssize_t>(message.size())) {
    return Error::from_errno("the log relay process is gone", sent < 0 ? errno : EPIPE);
  }
  return ok_status();
}

}  // namespace

Result<int> LogRelay::add_process(std::string_view name, bool keep) {
  if (pid_ < 0) return Error("log relay: not running");
  if (name.empty() || name.size() > kMaxLogProcessName) {
    return Error("log relay: bad process name " + config::quoted_text(name));
  }
  const std::string what = "log channel of " + std::string(name);
  auto pair = jailer::make_labelled_socketpair(socket_context_);
  if (!pair.ok()) return pair.error().wrap(what);
  // first: the process's end, written only; second: the relay's, read only.
  ::shutdown(pair->first.get(), SHUT_RD);
  ::shutdown(pair->second.get(), SHUT_WR);

  std::string message(1, kLogRelayAdd);
  message.append(name);
  if (Status s = send_control(control_.get(), message, pair->second.get()); !s.ok()) return s.error().wrap(what);
  const int fd = pair->first.get();
  (keep ? kept_ends_ : started_ends_).push_back(std::move(pair->first));
  return fd;
}

Status LogRelay::configure(RelayLevel minimum, bool show_level, int file) {
  if (pid_ < 0) return Error("log relay: not running");
  const std::string message{kLogRelayLevel, static_cast<char>(minimum), static_cast<char>(show_level ? 1 : 0)};
  return send_control(control_.get(), message, file);
}

void LogRelay::close_started() { started_ends_.clear(); }

void LogRelay::finish(std::chrono::milliseconds grace) {
  if (pid_ < 0) return;
  started_ends_.clear();
  kept_ends_.clear();
  const auto grace_ms = static_cast<uint32_t>(std::clamp<int64_t>(grace.count(), 0, 600000));
  char message[1 + sizeof grace_ms] = {kLogRelayFinish};
  std::memcpy(message + 1, &grace_ms, sizeof grace_ms);
  (void)::send(control_.get(), message, sizeof message, MSG_NOSIGNAL);
  control_.reset();
  // The relay ends by itself within the grace; a second more for its last writes, then it is
  // killed (an output nobody reads must not hold the launcher).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms) + std::chrono::seconds(1);
  int status = 0;
  for (;;) {
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_ || (done < 0 && errno != EINTR)) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      log::warn("log relay: still writing " + std::to_string(grace_ms) + " ms after the VM ended; stopped");
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  pid_ = -1;
}

}  // namespace bulwark::jail
