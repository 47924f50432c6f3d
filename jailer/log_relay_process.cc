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

void write_to_fd(int fd, const std::string& record) {
  const char* data = record.data();
  size_t left = record.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, data, left);
    if (n < 0 && errno == EINTR) continue;
    // The launcher's stderr is gone, or the log FIFO (non-blocking) is full or has no reader:
    // drop, as a closed pipe would. The relay never waits on a reader.
    if (n <= 0) return;
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
  bool receive_control();
  void write_lines(Stream& stream, std::vector<LineSplitter::Line>& lines);
  void read_stream(Stream& stream);
  void end_stream(Stream& stream);
  void stop_at(std::chrono::steady_clock::time_point deadline);

  void write_record(const std::string& record) {
    write_to_fd(kOutputFd, record);
    if (log_file_.valid()) write_to_fd(log_file_.get(), record);
  }

  const LogRelaySettings& settings_;
  // PUT /logger (log_relay.h's configure): the least level written, "[level] " on text records,
  // and the operator-approved file every record also goes to.
  RelayLevel minimum_ = RelayLevel::kDebug;
  bool show_level_ = false;
  UniqueFd log_file_;
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

// Takes one control message; false when none was waiting (or the control socket closed).
bool Relay::receive_control() {
  char data[1 + kMaxLogProcessName + 1];
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
  iovec iov{data, sizeof data};
  msghdr header{};
  header.msg_iov = &iov;
  header.msg_iovlen = 1;
  header.msg_control = control;
  header.msg_controllen = sizeof control;
  const ssize_t n = ::recvmsg(kControlFd, &header, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return false;
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
    return false;
  }
  const auto size = static_cast<size_t>(n);
  if (data[0] == kLogRelayAdd && fds.size() == 1 && size >= 2 && size <= 1 + kMaxLogProcessName &&
      (header.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) == 0) {
    streams_.push_back({std::move(fds[0]), std::string(data + 1, size - 1), LineSplitter(kMaxRelayedLineBytes),
                        LineRateLimiter(settings_.lines_per_second, settings_.burst, std::chrono::steady_clock::now())});
  } else if (data[0] == kLogRelayLevel && size == 3 && fds.size() <= 1 &&
             static_cast<uint8_t>(data[1]) <= static_cast<uint8_t>(RelayLevel::kOff) &&
             static_cast<uint8_t>(data[2]) <= 1 && (header.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) == 0) {
    minimum_ = static_cast<RelayLevel>(data[1]);
    show_level_ = data[2] == 1;
    if (fds.size() == 1) log_file_ = std::move(fds[0]);
  } else if (data[0] == kLogRelayFinish && size == 1 + sizeof(uint32_t)) {
    uint32_t grace_ms = 0;
    std::memcpy(&grace_ms, data + 1, sizeof grace_ms);
    stop_at(std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms));
  }
  return true;
}

void Relay::write_lines(Stream& stream, std::vector<LineSplitter::Line>& lines) {
  for (const LineSplitter::Line& line : lines) {
    // Below the level PUT /logger set: not written, and not counted against the rate limit.
    const std::string_view level = relayed_line_level(line.text);
    if (!relay_level_passes(minimum_, level)) continue;
    const LineRateLimiter::Decision decision = stream.limiter.on_line(std::chrono::steady_clock::now());
    const auto now = std::chrono::system_clock::now();
    if (decision.report_dropped > 0 && relay_level_passes(minimum_, "warning")) {
      write_record(format_dropped_lines(settings_.format, source(stream), decision.report_dropped, now));
    }
    if (decision.write_line) {
      // show_level: the level as the relay knows it, ahead of the line (JSON records always
      // carry it as "level").
      const std::string text = show_level_ && settings_.format == LogFormat::kText
                                   ? "[" + std::string(level) + "] " + line.text
                                   : line.text;
      write_record(format_relayed_line(settings_.format, source(stream), text, line.cut, now));
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
  if (const uint64_t dropped = stream.limiter.take_dropped(); dropped > 0 && relay_level_passes(minimum_, "warning")) {
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
    // Control first, every message waiting: a PUT /logger the launcher sent before a line was
    // written applies to that line. A channel added here is appended to streams_, past this
    // round's poll set, so the indexes below stay those of the poll set.
    if (first_stream == 1 && fds[0].revents != 0) {
      while (control_open_ && receive_control()) {
      }
    }
    for (size_t i = 0; i + first_stream < fds.size(); ++i) {
      if (fds[i + first_stream].revents != 0) read_stream(streams_[i]);
    }
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
