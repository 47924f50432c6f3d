#include "jailer/stdio_relay.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "bulwark/common/log.h"
#include "jailer/svirt/socket_create_context.h"

namespace bulwark::jail {

namespace {

void write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the launcher's own output is gone: drop, as a closed pipe would
    data += n;
    size -= static_cast<size_t>(n);
  }
}

}  // namespace

StdioRelay::~StdioRelay() { finish(std::chrono::milliseconds(0)); }

Result<StdioRelay::ChildStdio> StdioRelay::add_process(int out_target, int err_target,
                                                       bool forward_stdin) {
  ChildStdio child;
  auto make = [this]() -> Result<jailer::SocketPairEnds> {
    return jailer::make_labelled_socketpair(socket_context_);
  };
  auto in = make();
  if (!in.ok()) return in.error().wrap("console and log channels");
  // The launcher's end: writes from its stdin, or closes at once (the process reads end of file).
  ::shutdown(in->second.get(), SHUT_RD);
  ::shutdown(in->first.get(), SHUT_WR);
  child.in = in->first.get();
  child_ends_.push_back(std::move(in->first));
  if (forward_stdin) stdin_targets_.push_back(std::move(in->second));

  auto out = make();
  if (!out.ok()) return out.error().wrap("console and log channels");
  child.out = out->first.get();
  child_ends_.push_back(std::move(out->first));
  outputs_.push_back({std::move(out->second), out_target});

  if (err_target == out_target) {
    child.err = child.out;  // one stream, in the order the process wrote it
  } else {
    auto err = make();
    if (!err.ok()) return err.error().wrap("console and log channels");
    child.err = err->first.get();
    child_ends_.push_back(std::move(err->first));
    outputs_.push_back({std::move(err->second), err_target});
  }
  return child;
}

Status StdioRelay::start() {
  child_ends_.clear();
  stop_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop_.valid()) return Error::from_errno("console relay: eventfd", errno);
  // The thread takes no signal: the launcher's main thread handles them, and a closed stdout
  // gives the copy EPIPE rather than killing the launcher.
  sigset_t all, previous;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &previous);
  try {
    thread_ = std::thread([this] { copy_loop(); });
  } catch (const std::system_error& e) {
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    return Error(std::string("console relay: cannot start a thread: ") + e.what());
  }
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return ok_status();
}

void StdioRelay::finish(std::chrono::milliseconds grace) {
  if (!thread_.joinable()) return;
  deadline_ = std::chrono::steady_clock::now() + grace;
  const uint64_t one = 1;
  (void)!::write(stop_.get(), &one, sizeof one);
  thread_.join();
}

void StdioRelay::copy_loop() {
  bool stopping = false;
  bool stdin_open = !stdin_targets_.empty();
  std::vector<bool> open(outputs_.size(), true);
  size_t remaining = outputs_.size();
  char buffer[16384];
  for (;;) {
    if (stopping && remaining == 0) return;
    int timeout_ms = -1;
    if (stopping) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline_ - std::chrono::steady_clock::now());
      if (left.count() <= 0) return;
      timeout_ms = static_cast<int>(left.count());
    }
    std::vector<pollfd> fds;
    std::vector<size_t> which;  // index into outputs_, or SIZE_MAX-1 stop, SIZE_MAX stdin
    constexpr size_t kStop = static_cast<size_t>(-2), kStdin = static_cast<size_t>(-1);
    if (!stopping) {
      fds.push_back({stop_.get(), POLLIN, 0});
      which.push_back(kStop);
    }
    if (stdin_open && !stopping) {
      fds.push_back({STDIN_FILENO, POLLIN, 0});
      which.push_back(kStdin);
    }
    for (size_t i = 0; i < outputs_.size(); ++i) {
      if (!open[i]) continue;
      fds.push_back({outputs_[i].from.get(), POLLIN, 0});
      which.push_back(i);
    }
    const int ready = ::poll(fds.data(), fds.size(), timeout_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      log::error("console relay: poll failed; the VM's console output stops here");
      return;
    }
    for (size_t k = 0; k < fds.size(); ++k) {
      if (fds[k].revents == 0) continue;
      if (which[k] == kStop) {
        stopping = true;
        continue;
      }
      const int from = which[k] == kStdin ? STDIN_FILENO : outputs_[which[k]].from.get();
      const ssize_t n = ::read(from, buffer, sizeof buffer);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (which[k] == kStdin) {
        if (n <= 0) {
          // The launcher's stdin ended: so does the monitor's.
          for (UniqueFd& target : stdin_targets_) ::shutdown(target.get(), SHUT_WR);
          stdin_open = false;
          continue;
        }
        // Never block on a monitor that does not read its console: what it leaves unread
        // beyond the socket's buffer is dropped, as a full serial FIFO would drop it.
        for (UniqueFd& target : stdin_targets_) {
          (void)::send(target.get(), buffer, static_cast<size_t>(n), MSG_DONTWAIT | MSG_NOSIGNAL);
        }
        continue;
      }
      if (n <= 0) {
        open[which[k]] = false;
        outputs_[which[k]].from.reset();
        --remaining;
        continue;
      }
      write_all(outputs_[which[k]].to, buffer, static_cast<size_t>(n));
    }
  }
}

}  // namespace bulwark::jail
