#include "jailer/policy_cli/syscall_recorder.h"

#include <signal.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <set>

#include "policy/seccomp_policy/policy_recording.h"
#include "policy/seccomp_policy/syscall_names.h"

namespace bulwark::policy_cli {

namespace {

constexpr long kTraceOptions = PTRACE_O_EXITKILL | PTRACE_O_TRACESECCOMP | PTRACE_O_TRACECLONE |
                               PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACEEXEC;

// SIGTERM, SIGINT and SIGHUP sent to the recorder (a test's timeout, Ctrl-C) go to COMMAND, so
// that it shuts down as it would untraced instead of dying with the tracer (PTRACE_O_EXITKILL).
volatile sig_atomic_t g_command_pid = 0;
constexpr int kForwardedSignals[] = {SIGTERM, SIGINT, SIGHUP};

void forward_signal(int signal) {
  if (g_command_pid > 0) ::kill(g_command_pid, signal);
}

class SignalForwarding {
 public:
  explicit SignalForwarding(pid_t command) {
    g_command_pid = command;
    struct sigaction action{};
    action.sa_handler = forward_signal;
    ::sigemptyset(&action.sa_mask);
    for (size_t i = 0; i < std::size(kForwardedSignals); ++i) {
      ::sigaction(kForwardedSignals[i], &action, &previous_[i]);
    }
  }
  ~SignalForwarding() {
    for (size_t i = 0; i < std::size(kForwardedSignals); ++i) ::sigaction(kForwardedSignals[i], &previous_[i], nullptr);
    g_command_pid = 0;
  }
  SignalForwarding(const SignalForwarding&) = delete;
  SignalForwarding& operator=(const SignalForwarding&) = delete;

 private:
  struct sigaction previous_[std::size(kForwardedSignals)]{};
};

[[noreturn]] void exec_traced_child(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  if (::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != 0) _exit(126);
  ::raise(SIGSTOP);  // the tracer sets its options before COMMAND runs
  ::execvp(args[0], args.data());
  std::fprintf(stderr, "bulwark policy record: cannot run %s: %s\n", args[0], std::strerror(errno));
  _exit(127);
}

// A tracee that vanished (killed by another process) makes ptrace fail with ESRCH: not an error.
void resume(pid_t pid, int signal) {
  ::ptrace(PTRACE_CONT, pid, nullptr, reinterpret_cast<void*>(static_cast<long>(signal)));
}

std::string syscall_name_of(pid_t pid) {
  user_regs_struct regs{};
  if (::ptrace(PTRACE_GETREGS, pid, nullptr, &regs) != 0) return "unknown";
  std::string name = policy::x86_64_syscall_name(static_cast<long>(regs.orig_rax));
  for (char& c : name) {
    if (c == ' ') c = '_';  // "syscall 999" -> "syscall_999": one word in the usage file
  }
  return name;
}

void count_stop(pid_t pid, SyscallUsage& usage) {
  unsigned long message = 0;
  if (::ptrace(PTRACE_GETEVENTMSG, pid, nullptr, &message) != 0) return;
  const auto tag = static_cast<uint16_t>(message);
  const auto file = policy::recording_policy_file(policy::recording_tag_policy(tag));
  UsageKey key{file ? std::string(*file) : kOtherPolicyName, policy::recording_tag_slot(tag),
               syscall_name_of(pid)};
  ++usage[key];
}

}  // namespace

Result<RecordedRun> record_syscalls(const std::vector<std::string>& argv, SyscallUsage& usage) {
  if (argv.empty()) return Error("no command to record");
  const pid_t child = ::fork();
  if (child < 0) return Error::from_errno("fork", errno);
  if (child == 0) exec_traced_child(argv);

  int status = 0;
  if (::waitpid(child, &status, 0) != child || !WIFSTOPPED(status)) {
    return Error("the command stopped being traceable before it started");
  }
  if (::ptrace(PTRACE_SETOPTIONS, child, nullptr, reinterpret_cast<void*>(kTraceOptions)) != 0) {
    const int err = errno;
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    return Error::from_errno("ptrace(PTRACE_SETOPTIONS)", err);
  }
  SignalForwarding forwarding(child);
  resume(child, 0);

  RecordedRun run;
  std::set<pid_t> started{child};  // tracees past their first stop
  for (;;) {
    const pid_t pid = ::waitpid(-1, &status, __WALL);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;  // ECHILD: every tracee is gone
    }
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      if (pid == child) run.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      started.erase(pid);
      continue;
    }
    if (!WIFSTOPPED(status)) continue;
    const int signal = WSTOPSIG(status);
    const int event = status >> 16;
    if (event == PTRACE_EVENT_SECCOMP) {
      ++run.stops;
      count_stop(pid, usage);
      resume(pid, 0);
    } else if (event != 0) {
      resume(pid, 0);  // fork, clone, exec: the new tracee reports on its own
    } else if (started.insert(pid).second && signal == SIGSTOP) {
      resume(pid, 0);  // a new tracee's first stop, not a signal anyone sent
    } else {
      siginfo_t info{};
      // No siginfo: a group stop after a stop signal; let the process go on.
      const bool delivery = ::ptrace(PTRACE_GETSIGINFO, pid, nullptr, &info) == 0;
      resume(pid, delivery ? signal : 0);
    }
  }
  return run;
}

}  // namespace bulwark::policy_cli
