// Runs bulwark-monitor (or any program) as a child process for integration tests: feeds its
// stdin, collects stdout and stderr as they come (so a chatty child never blocks on a full
// pipe), enforces a wall-clock deadline and reports how it ended and its peak RSS.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"

namespace bulwark::test {

struct ProcessResult {
  bool exited = false;    // exited by itself; exit_code is valid
  int exit_code = -1;
  int term_signal = 0;    // the signal that ended it when !exited
  bool timed_out = false; // outlived its deadline and was killed with SIGKILL
  std::string out;        // everything written to stdout
  std::string err;        // everything written to stderr
  // ru_maxrss from wait4, in KiB. An upper bound on the child's own peak: Linux starts a
  // spawned child's high-water mark at the spawning process's.
  long peak_rss_kib = 0;

  // One paragraph for assertion messages: how it ended, then the tails of both streams.
  std::string describe() const;
};

class ChildProcess {
 public:
  // Starts `program args...` with stdin fed from stdin_data (then closed), stdout and stderr
  // captured. The child gets default signal dispositions and an empty signal mask.
  static Result<ChildProcess> start(const std::string& program,
                                    const std::vector<std::string>& args,
                                    std::string stdin_data = {});

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&&) = delete;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // A child still running is killed with SIGKILL and reaped.
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  // Collects output until stdout contains `needle`, the child closes stdout, or the timeout
  // passes. True when the needle was seen.
  bool wait_for_stdout(std::string_view needle, std::chrono::milliseconds timeout);
  Status send_signal(int signal_number);
  // Collects output until the child exits; past the timeout it is killed (timed_out set).
  ProcessResult wait(std::chrono::milliseconds timeout);

 private:
  ChildProcess(pid_t pid, UniqueFd stdin_fd, UniqueFd stdout_fd, UniqueFd stderr_fd,
               std::string stdin_data);
  // One round of poll(): feeds stdin, reads whatever stdout/stderr hold. Returns false once
  // there is nothing left to wait for (all pipes closed).
  bool pump(std::chrono::milliseconds max_wait);
  bool exited_without_reaping() const;
  void reap(bool block, ProcessResult* result);

  pid_t pid_ = -1;
  UniqueFd stdin_fd_, stdout_fd_, stderr_fd_;
  std::string stdin_data_;
  size_t stdin_written_ = 0;
  std::string out_, err_;
};

// Runs `program args...` to completion within `timeout`.
ProcessResult run_process(const std::string& program, const std::vector<std::string>& args,
                          std::string stdin_data = {},
                          std::chrono::milliseconds timeout = std::chrono::seconds(120));

}  // namespace bulwark::test
