#include "tests/integration/monitor_process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <utility>

extern char** environ;

namespace bulwark::test {
namespace {

using Clock = std::chrono::steady_clock;

// Writing to a child that already exited must be an EPIPE, not a SIGPIPE killing the tests.
void ignore_sigpipe_once() {
  static std::once_flag once;
  std::call_once(once, [] { ::signal(SIGPIPE, SIG_IGN); });
}

Result<std::pair<UniqueFd, UniqueFd>> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Error::from_errno("pipe2", errno);
  return std::pair{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

Status set_nonblocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
    return Error::from_errno("fcntl(O_NONBLOCK)", errno);
  return ok_status();
}

// Closes the descriptor at end of file, appends what was read.
void drain(UniqueFd& fd, std::string& sink) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n > 0) {
      sink.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0 || (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) fd.reset();
    if (n < 0 && errno == EINTR) continue;
    return;
  }
}

std::string tail(const std::string& s, size_t max) {
  if (s.size() <= max) return s;
  return "[..." + std::to_string(s.size() - max) + " bytes...]" + s.substr(s.size() - max);
}

}  // namespace

std::string ProcessResult::describe() const {
  std::string how;
  if (timed_out) {
    how = "timed out and was killed";
  } else if (exited) {
    how = "exited with code " + std::to_string(exit_code);
  } else {
    how = "killed by signal " + std::to_string(term_signal);
  }
  return how + ", peak RSS " + std::to_string(peak_rss_kib) + " KiB\n--- stdout ---\n" +
         tail(out, 2000) + "\n--- stderr ---\n" + tail(err, 4000);
}

ChildProcess::ChildProcess(pid_t pid, UniqueFd stdin_fd, UniqueFd stdout_fd, UniqueFd stderr_fd,
                           std::string stdin_data)
    : pid_(pid),
      stdin_fd_(std::move(stdin_fd)),
      stdout_fd_(std::move(stdout_fd)),
      stderr_fd_(std::move(stderr_fd)),
      stdin_data_(std::move(stdin_data)) {}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      stdin_fd_(std::move(other.stdin_fd_)),
      stdout_fd_(std::move(other.stdout_fd_)),
      stderr_fd_(std::move(other.stderr_fd_)),
      stdin_data_(std::move(other.stdin_data_)),
      stdin_written_(other.stdin_written_),
      out_(std::move(other.out_)),
      err_(std::move(other.err_)) {}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ProcessResult ignored;
    reap(/*block=*/true, &ignored);
  }
}

Result<ChildProcess> ChildProcess::start(const std::string& program,
                                         const std::vector<std::string>& args,
                                         std::string stdin_data) {
  ignore_sigpipe_once();
  auto in = make_pipe();
  if (!in) return in.error();
  auto out = make_pipe();
  if (!out) return out.error();
  auto err = make_pipe();
  if (!err) return err.error();

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in->first.get(), STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out->second.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err->second.get(), STDERR_FILENO);

  // The child must not inherit this process's ignored SIGPIPE or any blocked signal.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults, empty;
  sigfillset(&defaults);
  sigemptyset(&empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(program.c_str()));
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, program.c_str(), &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Error::from_errno("posix_spawn " + program, rc);

  // The child's ends stay with the child only.
  in->first.reset();
  out->second.reset();
  err->second.reset();
  ChildProcess child(pid, std::move(in->second), std::move(out->first), std::move(err->first),
                     std::move(stdin_data));
  for (int fd : {child.stdin_fd_.get(), child.stdout_fd_.get(), child.stderr_fd_.get()}) {
    BULWARK_TRY(set_nonblocking(fd));
  }
  if (child.stdin_data_.empty()) child.stdin_fd_.reset();
  return child;
}

bool ChildProcess::pump(std::chrono::milliseconds max_wait) {
  pollfd fds[3];
  nfds_t count = 0;
  int stdin_index = -1, stdout_index = -1, stderr_index = -1;
  if (stdin_fd_.valid()) {
    stdin_index = static_cast<int>(count);
    fds[count++] = {stdin_fd_.get(), POLLOUT, 0};
  }
  if (stdout_fd_.valid()) {
    stdout_index = static_cast<int>(count);
    fds[count++] = {stdout_fd_.get(), POLLIN, 0};
  }
  if (stderr_fd_.valid()) {
    stderr_index = static_cast<int>(count);
    fds[count++] = {stderr_fd_.get(), POLLIN, 0};
  }
  if (count == 0) return false;
  int ready = ::poll(fds, count, static_cast<int>(std::max<int64_t>(0, max_wait.count())));
  if (ready <= 0) return true;  // timeout or EINTR: the caller re-checks its deadline
  if (stdin_index >= 0 && fds[stdin_index].revents != 0) {
    ssize_t n = ::write(stdin_fd_.get(), stdin_data_.data() + stdin_written_,
                        stdin_data_.size() - stdin_written_);
    if (n > 0) stdin_written_ += static_cast<size_t>(n);
    // All written (then EOF tells the child), or the child closed its end (EPIPE).
    if (stdin_written_ == stdin_data_.size() || (n < 0 && errno != EAGAIN && errno != EINTR))
      stdin_fd_.reset();
  }
  if (stdout_index >= 0 && fds[stdout_index].revents != 0) drain(stdout_fd_, out_);
  if (stderr_index >= 0 && fds[stderr_index].revents != 0) drain(stderr_fd_, err_);
  return true;
}

bool ChildProcess::exited_without_reaping() const {
  siginfo_t info{};
  return ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         info.si_pid == pid_;
}

void ChildProcess::reap(bool block, ProcessResult* result) {
  if (pid_ <= 0) return;
  int status = 0;
  rusage usage{};
  pid_t got;
  do {
    got = ::wait4(pid_, &status, block ? 0 : WNOHANG, &usage);
  } while (got < 0 && errno == EINTR);
  if (got != pid_) return;
  pid_ = -1;
  result->peak_rss_kib = usage.ru_maxrss;
  if (WIFEXITED(status)) {
    result->exited = true;
    result->exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result->term_signal = WTERMSIG(status);
  }
}

bool ChildProcess::wait_for_stdout(std::string_view needle, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (out_.find(needle) == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0 || !stdout_fd_.valid()) return false;
    pump(std::min(left, std::chrono::milliseconds(100)));
  }
  return true;
}

Status ChildProcess::send_signal(int signal_number) {
  if (pid_ <= 0) return Error("child already reaped");
  if (::kill(pid_, signal_number) != 0) return Error::from_errno("kill", errno);
  return ok_status();
}

ProcessResult ChildProcess::wait(std::chrono::milliseconds timeout) {
  ProcessResult result;
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      break;
    }
    bool pipes_open = pump(std::min(left, std::chrono::milliseconds(100)));
    // Done when the child is gone, even if something else still holds its pipes.
    if (exited_without_reaping()) break;
    if (!pipes_open) ::poll(nullptr, 0, static_cast<int>(std::min<int64_t>(left.count(), 10)));
  }
  if (result.timed_out) {
    ::kill(pid_, SIGKILL);
  }
  reap(/*block=*/true, &result);
  // Whatever is still buffered in the pipes (the child is gone, so this ends).
  if (stdout_fd_.valid()) drain(stdout_fd_, out_);
  if (stderr_fd_.valid()) drain(stderr_fd_, err_);
  result.out = std::move(out_);
  result.err = std::move(err_);
  return result;
}

ProcessResult run_process(const std::string& program, const std::vector<std::string>& args,
                          std::string stdin_data, std::chrono::milliseconds timeout) {
  auto child = ChildProcess::start(program, args, std::move(stdin_data));
  if (!child) {
    ProcessResult failed;
    failed.err = "could not start " + program + ": " + child.error().message();
    return failed;
  }
  return child->wait(timeout);
}

}  // namespace bulwark::test
