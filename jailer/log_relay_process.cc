// The log relay process (log_relay.h): forked from the launcher, it reads the VM processes'
// channels (tenant-influenced bytes, split and escaped, never parsed) and writes their records to
// the launcher's stderr.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/close_range.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "bulwark/common/unique_fd.h"
#include "jailer/line_splitter.h"
#include "jailer/log_relay.h"

namespace bulwark::jail {

namespace {

constexpr int kControlFd = 3;
constexpr int kOutputFd = 4;
// The launcher died without saying finish: its processes die with it (PR_SET_PDEATHSIG), so
// their streams end soon; this bounds the wait for them.
constexpr auto kOrphanGrace = std::chrono::seconds(10);

void write_record(const std::string& record) {
  const char* data = record.data();
  size_t left = record.size();
  while (left > 0) {
    const ssize_t n = ::write(kOutputFd, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the launcher's stderr is gone: drop, as a closed pipe would
    data += n;
    left -= static_cast<size_t>(n);
  }
}

struct Stream {
  UniqueFd fd;
  std::string name;
  LineSplitter splitter{kMaxRelayedLineBytes};
  LineRateLimiter limiter;
  bool ended = false;
};

class Relay {
 public:
  explicit Relay(const LogRelaySettings& settings) : settings_(settings) {}
  void run();

 private:
  LogSource source(const Stream& stream) const { return {settings_.vm_id, stream.name}; }
  void receive_control();
  void write_lines(Stream& stream, std::vector<LineSplitter::Line>& lines);
  void read_stream(Stream& stream);
  void end_stream(Stream& stream);
  void stop_at(std::chrono::steady_clock::time_point deadline);

  const LogRelaySettings& settings_;
  std::vector<Stream> streams_;
  bool control_open_ = true;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point deadline_{};
};

void Relay::stop_at(std::chrono::steady_clock::time_point deadline) {
  if (stopping_) return;
  stopping_ = true;
  deadline_ = deadline;
}

void Relay::receive_control() {
  char data[1 + kMaxLogProcessName + 1];
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
  iovec iov{data, sizeof data};
  msghdr header{};
  header.msg_iov = &iov;
  header.msg_iovlen = 1;
  header.msg_control = control;
  header.msg_controllen = sizeof control;
  const ssize_t n = ::recvmsg(kControlFd, &header, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  std::vector<UniqueFd> fds;
  for (cmsghdr* cmsg = CMSG_FIRSTHDR(&header); n > 0 && cmsg != nullptr; cmsg = CMSG_NXTHDR(&header, cmsg)) {
    if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof fd);
      fds.emplace_back(fd);
    }
  }
  if (n <= 0) {
    control_open_ = false;
    stop_at(std::chrono::steady_clock::now() + kOrphanGrace);
    return;
  }
  const auto size = static_cast<size_t>(n);
  if (data[0] == kLogRelayAdd && fds.size() == 1 && size >= 2 && size <= 1 + kMaxLogProcessName &&
      (header.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) == 0) {
    streams_.push_back({std::move(fds[0]), std::string(data + 1, size - 1), LineSplitter(kMaxRelayedLineBytes),
                        LineRateLimiter(settings_.lines_per_second, settings_.burst, std::chrono::steady_clock::now())});
  } else if (data[0] == kLogRelayFinish && size == 1 + sizeof(uint32_t)) {
    uint32_t grace_ms = 0;
    std::memcpy(&grace_ms, data + 1, sizeof grace_ms);
    stop_at(std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms));
  }
}

void Relay::write_lines(Stream& stream, std::vector<LineSplitter::Line>& lines) {
  for (const LineSplitter::Line& line : lines) {
    const LineRateLimiter::Decision decision = stream.limiter.on_line(std::chrono::steady_clock::now());
    const auto now = std::chrono::system_clock::now();
    if (decision.report_dropped > 0) {
      write_record(format_dropped_lines(settings_.format, source(stream), decision.report_dropped, now));
    }
    if (decision.write_line) {
      write_record(format_relayed_line(settings_.format, source(stream), line.text, line.cut, now));
    }
  }
  lines.clear();
}

void Relay::read_stream(Stream& stream) {
  char buffer[65536];
  const ssize_t n = ::read(stream.fd.get(), buffer, sizeof buffer);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) {
    end_stream(stream);
    return;
  }
  std::vector<LineSplitter::Line> lines;
  stream.splitter.feed(std::string_view(buffer, static_cast<size_t>(n)), lines);
  write_lines(stream, lines);
}

void Relay::end_stream(Stream& stream) {
  std::vector<LineSplitter::Line> lines;
  stream.splitter.finish(lines);
  write_lines(stream, lines);
  if (const uint64_t dropped = stream.limiter.take_dropped(); dropped > 0) {
    write_record(format_dropped_lines(settings_.format, source(stream), dropped, std::chrono::system_clock::now()));
  }
  stream.fd.reset();
  stream.ended = true;
}

void Relay::run() {
  for (;;) {
    if (stopping_ && streams_.empty()) return;
    int timeout_ms = -1;
    if (stopping_) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      timeout_ms = static_cast<int>(left.count()) + 1;
    }
    std::vector<pollfd> fds;
    if (control_open_) fds.push_back({kControlFd, POLLIN, 0});
    for (const Stream& stream : streams_) fds.push_back({stream.fd.get(), POLLIN, 0});
    const int ready = ::poll(fds.data(), fds.size(), timeout_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    const size_t first_stream = control_open_ ? 1 : 0;
    // Streams first: a channel added below is not in this round's poll set.
    for (size_t i = 0; i + first_stream < fds.size(); ++i) {
      if (fds[i + first_stream].revents != 0) read_stream(streams_[i]);
    }
    if (first_stream == 1 && fds[0].revents != 0) receive_control();
    std::erase_if(streams_, [](const Stream& stream) { return stream.ended; });
  }
  // The grace is over: what was read is told, each count of dropped lines too.
  for (Stream& stream : streams_) end_stream(stream);
}

}  // namespace

void run_log_relay_process(int control_fd, int output_fd, const LogRelaySettings& settings) {
  // Only the launcher stops it (finish, or SIGKILL): a Ctrl-C to the terminal's process group
  // must not cut the VM's last records short. EPIPE rather than SIGPIPE on a closed stderr.
  sigset_t all;
  sigfillset(&all);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);
  ::prctl(PR_SET_NAME, "bulwark-logs", 0, 0, 0);
  // None of the launcher's fds (locks, reservations, the VM's files) stays open here: fd 2 (for
  // this process's own diagnostics), the control socket as 3, the records' output as 4, /dev/null
  // for 0 and 1.
  const int control = ::fcntl(control_fd, F_DUPFD, 10);
  const int output = ::fcntl(output_fd, F_DUPFD, 10);
  const int null = ::open("/dev/null", O_RDWR);
  const int null_high = null < 0 ? -1 : ::fcntl(null, F_DUPFD, 10);
  if (control < 0 || output < 0 || null_high < 0) ::_exit(127);
  if (::dup2(control, kControlFd) < 0 || ::dup2(output, kOutputFd) < 0 || ::dup2(null_high, STDIN_FILENO) < 0 ||
      ::dup2(null_high, STDOUT_FILENO) < 0) {
    ::_exit(127);
  }
  if (::syscall(SYS_close_range, kOutputFd + 1, ~0U, 0) != 0) ::_exit(127);
  Relay relay(settings);
  relay.run();
  ::_exit(0);
}

}  // namespace bulwark::jail
