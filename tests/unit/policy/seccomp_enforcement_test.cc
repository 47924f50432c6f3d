// Real filters in forked children: a call outside the policy kills the child with SIGSYS, calls
// inside it work, argument conditions are enforced, kLog lets violations through, and the
// filter covers only the thread that applied it (but kills the whole process).
//
// The child must not use gtest: it reports through a pipe and ends with exit_group directly,
// so no atexit or sanitizer exit hook runs under its filter.
#include "policy/seccomp_policy/policy_apply.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <thread>

#include "policy/seccomp_policy/policy_loader.h"

namespace bulwark::policy {
namespace {

const std::string kEnforcementTestdata = BULWARK_POLICY_TESTDATA;
constexpr int kApplyFailed = 3;
constexpr int kSurvived = 4;

[[noreturn]] void child_exit(int code) {
  ::syscall(SYS_exit_group, code);
  __builtin_unreachable();
}

void report(int fd, std::string_view text) {
  (void)!::write(fd, text.data(), text.size());
}

// Applies `policy` to the calling thread and reports "A", or reports the error and exits.
void apply_or_exit(const SeccompPolicy& policy, ViolationAction action, int report_fd) {
  Status applied = apply_seccomp_policy(policy, action);
  if (!applied.ok()) {
    report(report_fd, "E:" + applied.error().message());
    child_exit(kApplyFailed);
  }
  report(report_fd, "A");
}

struct ChildOutcome {
  std::string output;  // everything the child reported
  int status = 0;      // from waitpid

  bool killed_by(int signal) const { return WIFSIGNALED(status) && WTERMSIG(status) == signal; }
  bool exited_with(int code) const { return WIFEXITED(status) && WEXITSTATUS(status) == code; }
  std::string describe() const {
    std::string how = WIFSIGNALED(status) ? "killed by signal " + std::to_string(WTERMSIG(status))
                      : WIFEXITED(status) ? "exited " + std::to_string(WEXITSTATUS(status))
                                          : "status " + std::to_string(status);
    return how + ", reported \"" + output + "\"";
  }
};

// Runs `body` in a forked child; the body gets the write end of the report pipe.
ChildOutcome run_child(const std::function<void(int report_fd)>& body) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2: " << std::strerror(errno);
    return {};
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    const rlimit no_core{0, 0};  // SIGSYS would otherwise dump core
    ::setrlimit(RLIMIT_CORE, &no_core);
    ::alarm(20);  // a hung child dies of SIGALRM instead of hanging the test
    body(fds[1]);
    child_exit(0);
  }
  ::close(fds[1]);
  ChildOutcome outcome;
  char buffer[256];
  ssize_t got;
  while ((got = ::read(fds[0], buffer, sizeof(buffer))) != 0) {
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) break;
    outcome.output.append(buffer, static_cast<size_t>(got));
  }
  ::close(fds[0]);
  if (pid < 0) {
    ADD_FAILURE() << "fork: " << std::strerror(errno);
    return outcome;
  }
  while (::waitpid(pid, &outcome.status, 0) < 0 && errno == EINTR) {
  }
  return outcome;
}

class SeccompEnforcement : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<SeccompPolicy> loaded = load_seccomp_policy_file(kEnforcementTestdata + "/child.policy");
    ASSERT_TRUE(loaded.ok()) << loaded.error().message();
    policy_ = std::move(*loaded);
  }

  // The child applies the policy with kKillProcess, then runs `forbidden`.
  void expect_killed_by_sigsys(const char* what, const std::function<void(int)>& forbidden) {
    const ChildOutcome outcome = run_child([&](int fd) {
      apply_or_exit(policy_, ViolationAction::kKillProcess, fd);
      forbidden(fd);
      report(fd, "survived");
      child_exit(kSurvived);
    });
    EXPECT_TRUE(outcome.killed_by(SIGSYS)) << what << ": " << outcome.describe();
    EXPECT_EQ(outcome.output, "A") << what;
  }

  SeccompPolicy policy_;
};

TEST_F(SeccompEnforcement, AllowedCallsWorkAndTheChildExitsNormally) {
  const ChildOutcome outcome = run_child([&](int fd) {
    apply_or_exit(policy_, ViolationAction::kKillProcess, fd);
    report(fd, "ok");
    child_exit(0);
  });
  EXPECT_TRUE(outcome.exited_with(0)) << outcome.describe();
  EXPECT_EQ(outcome.output, "Aok");
}

TEST_F(SeccompEnforcement, ExecveKills) {
  expect_killed_by_sigsys("execve", [](int) {
    char program[] = "/bin/true";
    char* const argv[] = {program, nullptr};
    char* const envp[] = {nullptr};
    ::execve(program, argv, envp);
  });
}

TEST_F(SeccompEnforcement, SocketKills) {
  expect_killed_by_sigsys("socket", [](int) { ::socket(AF_INET, SOCK_STREAM, 0); });
}

TEST_F(SeccompEnforcement, PtraceKills) {
  expect_killed_by_sigsys("ptrace", [](int) { ::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr); });
}

TEST_F(SeccompEnforcement, MountKills) {
  expect_killed_by_sigsys("mount", [](int) { ::mount("none", "/mnt", "tmpfs", 0, nullptr); });
}

TEST_F(SeccompEnforcement, X32SystemCallKills) {
  expect_killed_by_sigsys("x32 getpid", [](int) { ::syscall(0x40000000 | SYS_getpid); });
}

TEST_F(SeccompEnforcement, OpeningForReadingIsAllowedCreatingIsNot) {
  const std::string existing = kEnforcementTestdata + "/child.policy";
  const ChildOutcome read_only = run_child([&](int fd) {
    apply_or_exit(policy_, ViolationAction::kKillProcess, fd);
    const int file = ::openat(AT_FDCWD, existing.c_str(), O_RDONLY | O_CLOEXEC);
    report(fd, file >= 0 ? "opened" : "failed");
    ::close(file);
    child_exit(0);
  });
  EXPECT_TRUE(read_only.exited_with(0)) << read_only.describe();
  EXPECT_EQ(read_only.output, "Aopened");

  const std::string fresh = "/tmp/bulwark-seccomp-test-" + std::to_string(::getpid());
  expect_killed_by_sigsys("openat O_CREAT", [&](int) {
    ::openat(AT_FDCWD, fresh.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  });
  expect_killed_by_sigsys("openat O_RDWR", [&](int) {
    ::openat(AT_FDCWD, existing.c_str(), O_RDWR | O_CLOEXEC);
  });
  EXPECT_NE(::access(fresh.c_str(), F_OK), 0) << fresh << " was created";
  ::unlink(fresh.c_str());  // leave nothing behind if it was
}

TEST_F(SeccompEnforcement, IoctlIsFilteredByCommandNumber) {
  const ChildOutcome allowed = run_child([&](int fd) {
    apply_or_exit(policy_, ViolationAction::kKillProcess, fd);
    int pending = -1;
    const int rc = ::ioctl(fd, FIONREAD, &pending);
    report(fd, rc == 0 && pending >= 0 ? "ok" : "ioctl failed");
    child_exit(0);
  });
  EXPECT_TRUE(allowed.exited_with(0)) << allowed.describe();
  EXPECT_EQ(allowed.output, "Aok");

  expect_killed_by_sigsys("ioctl TIOCGWINSZ", [](int fd) {
    winsize size{};
    ::ioctl(fd, TIOCGWINSZ, &size);
  });
}

TEST_F(SeccompEnforcement, LogModeLetsViolationsThrough) {
  const ChildOutcome outcome = run_child([&](int fd) {
    apply_or_exit(policy_, ViolationAction::kLog, fd);
    const int sock = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    winsize size{};
    const int rc = ::ioctl(fd, TIOCGWINSZ, &size);  // not a tty: fails, but is not killed
    const int ioctl_errno = errno;
    report(fd, sock >= 0 ? "socket," : "no socket,");
    report(fd, rc == -1 && ioctl_errno == ENOTTY ? "enotty," : "other,");
    report(fd, ::getpid() > 0 ? "pid" : "no pid");
    child_exit(0);
  });
  EXPECT_TRUE(outcome.exited_with(0)) << outcome.describe();
  EXPECT_EQ(outcome.output, "Asocket,enotty,pid");
}

TEST_F(SeccompEnforcement, FilterCoversOnlyTheApplyingThread) {
  const ChildOutcome outcome = run_child([&](int fd) {
    int ready[2];
    int never[2];
    if (::pipe2(ready, O_CLOEXEC) != 0 || ::pipe2(never, O_CLOEXEC) != 0) child_exit(5);
    std::thread filtered([&] {
      apply_or_exit(policy_, ViolationAction::kKillProcess, fd);
      char byte = 1;
      (void)!::write(ready[1], &byte, 1);
      while (true) (void)!::read(never[0], &byte, 1);  // nothing is ever written to `never`
    });
    char byte;
    if (::read(ready[0], &byte, 1) != 1) child_exit(6);
    // The main thread has no filter.
    const int sock = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    report(fd, sock >= 0 ? "ok" : "denied");
    child_exit(0);  // ends the filtered thread too
  });
  EXPECT_TRUE(outcome.exited_with(0)) << outcome.describe();
  EXPECT_EQ(outcome.output, "Aok");
}

TEST_F(SeccompEnforcement, ViolationInOneThreadKillsTheWholeProcess) {
  const ChildOutcome outcome = run_child([&](int fd) {
    int never[2];
    if (::pipe2(never, O_CLOEXEC) != 0) child_exit(5);
    std::thread filtered([&] {
      apply_or_exit(policy_, ViolationAction::kKillProcess, fd);
      ::socket(AF_INET, SOCK_STREAM, 0);
      report(fd, "survived");
    });
    char byte;
    (void)!::read(never[0], &byte, 1);  // the main thread waits, unfiltered, forever
    child_exit(kSurvived);
  });
  EXPECT_TRUE(outcome.killed_by(SIGSYS)) << outcome.describe();
  EXPECT_EQ(outcome.output, "A");
}

TEST_F(SeccompEnforcement, ApplyReportsCompileErrorsWithoutInstallingAnything) {
  SeccompPolicy bad = policy_;
  bad.rules.push_back(SyscallRule{"no_such_call", {}, "test", "bad.policy", 7, {}});
  Status applied = apply_seccomp_policy(bad, ViolationAction::kKillProcess);
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(applied.error().message(),
            "bad.policy:7: unknown system call 'no_such_call' on x86-64");
  // Still unfiltered: this process may do what the policy would forbid.
  const int sock = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_GE(sock, 0);
  ::close(sock);
}

}  // namespace
}  // namespace bulwark::policy
