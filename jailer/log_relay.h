// The log path of one VM's processes (issue 14): each jailed process (monitor, devices,
// bulwark-api) gets a channel as its stderr (a device's and bulwark-api's stdout too; never the
// monitor's stdout, the guest console) instead of the launcher's own stderr. A relay process,
// forked from the launcher before any VM process starts, reads every channel and writes one
// record per line to the launcher's stderr (log_line.h): escaped, cut at 4 KiB, stamped with the
// VM id and the process name the launcher gave the channel, rate-limited per process
// (log_rate_limit.h). It handles the VM processes' bytes (tenant-influenced) as opaque text.
//
// A process, not a thread: the launcher starts each jail with a fork-like clone whose child
// allocates before it execs, which is only safe while the launcher is single-threaded; and it
// keeps the launcher's main thread free. The relay holds none of the launcher's fds but its
// stderr and the control socket it receives channels on.
//
// Under SELinux the channels are socketpairs made under the VM's socket context, like the
// console relay's (stdio_relay.h): a VM domain may not write to the launcher's own pipes.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"
#include "jailer/log_line.h"
#include "jailer/log_rate_limit.h"

namespace bulwark::jail {

struct LogRelaySettings {
  std::string vm_id;
  LogFormat format = LogFormat::kText;
  std::string socket_context;  // make_labelled_socketpair's ("" = SELinux not in use)
  int output_fd = STDERR_FILENO;  // where records go: the launcher's stderr
  double lines_per_second = kRelayedLinesPerSecond;
  double burst = kRelayedLineBurst;
};

class LogRelay {
 public:
  // Forks the relay process. Call while the launcher is single-threaded.
  static Result<LogRelay> start(LogRelaySettings settings);

  LogRelay(LogRelay&& other) noexcept;
  LogRelay& operator=(LogRelay&& other) noexcept;
  LogRelay(const LogRelay&) = delete;
  LogRelay& operator=(const LogRelay&) = delete;
  // finish() with a short grace: what the processes wrote before a failed launch is still told.
  ~LogRelay();

  // A channel for the process called `name` ("monitor", "dev-blk:blk0", ...): the fd to pass as
  // its stderr (and stdout), close-on-exec here. The launcher keeps its copy until
  // close_started(), or, with `keep` (a process that may be started again), until finish().
  Result<int> add_process(std::string_view name, bool keep = false);

  // PUT /logger: from now on only lines of `minimum` or above are written (log_line.h says how a
  // line's level is known), with `show_level` the text records carry "[level] " before the
  // line, and, when `file` is valid (opened by the launcher: output_file.h), every record is
  // written there too, after the launcher's stderr. The relay takes its own copy of `file`.
  Status configure(RelayLevel minimum, bool show_level, int file);

  // The processes got their channels: the launcher's copies of those not kept close, so each
  // stream ends when its process does.
  void close_started();

  // The processes are gone: closes every copy left, lets the relay write what is pending (every
  // stream to its end, each dropped-lines count) for at most `grace`, then ends it. Idempotent.
  void finish(std::chrono::milliseconds grace);

 private:
  LogRelay() = default;

  pid_t pid_ = -1;
  UniqueFd control_;
  std::string socket_context_;
  std::vector<UniqueFd> started_ends_;
  std::vector<UniqueFd> kept_ends_;
};

// The relay process's side (log_relay_process.cc): reads channels from `control_fd` until told
// to finish or the launcher is gone, writes records to `output_fd`, and exits.
[[noreturn]] void run_log_relay_process(int control_fd, int output_fd, const LogRelaySettings& settings);

// The control messages: 'A' + name with the channel's fd; 'F' + grace in ms (uint32, native);
// 'L' + RelayLevel byte + show_level byte (0/1), with the log file's fd or none.
inline constexpr char kLogRelayAdd = 'A';
inline constexpr char kLogRelayFinish = 'F';
inline constexpr char kLogRelayLevel = 'L';
inline constexpr size_t kMaxLogProcessName = 64;

}  // namespace bulwark::jail
