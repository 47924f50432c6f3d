// The VM's console and logs when SELinux is on. A VM process may not use the launcher's own
// stdin/stdout/stderr there: they belong to whoever started `bulwark run` (an administrator's
// terminal or pipes at s0-s0:c0.c1023, init's /dev/null), the policy grants a VM domain no use
// of them, and the base MCS rules refuse a write from s0:cA,cB to an object at a wider range,
// so the kernel closes them at exec and the console is lost. Instead each process gets
// socketpairs made under the VM's socket context (like its vhost-user sockets), and one launcher
// thread copies: its stdin to the monitor, each process's output to the launcher's stdout or
// stderr. Guest-produced bytes are copied, never parsed.
#pragma once

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"

namespace bulwark::jail {

class StdioRelay {
 public:
  // The fds to pass as one process's 0, 1 and 2; owned by the relay until start().
  struct ChildStdio {
    int in = -1;
    int out = -1;
    int err = -1;
  };

  // `socket_context`: what make_labelled_socketpair gets (the VM's monitor context).
  explicit StdioRelay(std::string socket_context) : socket_context_(std::move(socket_context)) {}
  StdioRelay(const StdioRelay&) = delete;
  StdioRelay& operator=(const StdioRelay&) = delete;
  ~StdioRelay();

  // Channels for one process: its stdout is copied to the launcher's `out_target` (1 or 2), its
  // stderr to `err_target`; its stdin gets the launcher's stdin when `forward_stdin`, else end of
  // file at once.
  Result<ChildStdio> add_process(int out_target, int err_target, bool forward_stdin);

  // After the last process is started: closes the launcher's copies of the child ends (so an
  // exited process reads as end of file) and starts copying.
  Status start();

  // Once the processes are gone: copies what is left until every output reaches end of file, at
  // most `grace`, then stops the thread.
  void finish(std::chrono::milliseconds grace);

 private:
  struct Output {
    UniqueFd from;
    int to;
  };
  void copy_loop();

  std::string socket_context_;
  std::vector<UniqueFd> child_ends_;
  std::vector<Output> outputs_;
  std::vector<UniqueFd> stdin_targets_;
  UniqueFd stop_;  // eventfd: finish() asks the thread to end
  std::chrono::steady_clock::time_point deadline_{};
  std::thread thread_;
};

}  // namespace bulwark::jail
