// TEST-ONLY helper for the enforcing-SELinux guest (tests/selinux_guest), statically linked so
// that, once it runs in a VM domain outside any jail, it loads no library (a library load would
// be an access of its own, unrelated to what it probes).
//
//   bulwark-probe labels PATH...
//       one line per path: `LABEL <path> <security.selinux value or "none">` (lgetxattr: the
//       raw stored label, the same bytes `getfattr -n security.selinux` shows).
//   bulwark-probe attempt --uid N --context CTX --op OP --target T --then PROBE
//       a cross-VM attempt made in exactly CTX (another VM's context) with uid/gid N (the
//       OTHER VM's ids, so that DAC, which is checked before SELinux, lets the attempt through
//       and only SELinux decides). Started as root from a copy of this binary that carries the
//       launcher's entry type (so it runs as bulwark_launcher_t and the next exec is the very
//       transition the launcher makes for a monitor): writes CTX to
//       /proc/thread-self/attr/exec, drops to uid/gid N (no capabilities are left), closes every
//       fd (an inherited fd would be an access of its own), then executes PROBE (this binary
//       again, labelled with the VM domain's entry type); that exec is the transition into CTX.
//       In CTX it first checks its own context (a socketpair's SO_PEERSEC), then makes one
//       attempt relative to the working directory the caller chose:
//         open-read T   open(T, O_RDONLY)
//         open-rw T     open(T, O_RDWR)
//         signal PID    kill(PID, 0)
//       Exit status: the attempt's errno (13 = EACCES), 0 when the attempt SUCCEEDED (the
//       isolation failed), 100+ when the probe itself could not get into place (see below).
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

constexpr int kExitUsage = 100;
constexpr int kExitSetExec = 101;
constexpr int kExitIds = 102;
constexpr int kExitExec = 103;
constexpr int kExitWrongContext = 104;
constexpr int kExitNoContext = 105;

int labels(int argc, char** argv) {
  for (int i = 2; i < argc; ++i) {
    char value[512];
    const ssize_t n = ::lgetxattr(argv[i], "security.selinux", value, sizeof value);
    std::string label = n < 0 ? std::string("none") : std::string(value, static_cast<size_t>(n));
    while (!label.empty() && label.back() == '\0') label.pop_back();
    std::printf("LABEL %s %s\n", argv[i], label.c_str());
  }
  return 0;
}

std::string own_context() {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return "";
  char buf[512];
  socklen_t len = sizeof buf;
  std::string ctx;
  if (::getsockopt(pair[0], SOL_SOCKET, SO_PEERSEC, buf, &len) == 0) ctx.assign(buf, len);
  while (!ctx.empty() && ctx.back() == '\0') ctx.pop_back();
  ::close(pair[0]);
  ::close(pair[1]);
  return ctx;
}

int attempt(int argc, char** argv, bool inner) {
  std::string uid_text, context, op, target, then;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--uid") uid_text = argv[i + 1];
    else if (flag == "--context") context = argv[i + 1];
    else if (flag == "--op") op = argv[i + 1];
    else if (flag == "--target") target = argv[i + 1];
    else if (flag == "--then") then = argv[i + 1];
    else return kExitUsage;
  }
  if (uid_text.empty() || context.empty() || op.empty() || target.empty()) return kExitUsage;
  if (!inner) {
    const unsigned long uid = std::strtoul(uid_text.c_str(), nullptr, 10);
    if (uid == 0) return kExitUsage;
    const int attr = ::open("/proc/thread-self/attr/exec", O_WRONLY | O_CLOEXEC);
    if (attr < 0 || ::write(attr, context.data(), context.size()) != static_cast<ssize_t>(context.size())) {
      std::fprintf(stderr, "bulwark-probe: setting the exec context %s: %s\n", context.c_str(), std::strerror(errno));
      return kExitSetExec;
    }
    ::close(attr);
    if (then.empty() || then[0] != '/') return kExitUsage;
    if (::setgroups(0, nullptr) != 0 || ::setresgid(uid, uid, uid) != 0 || ::setresuid(uid, uid, uid) != 0) {
      std::fprintf(stderr, "bulwark-probe: dropping to uid %lu: %s\n", uid, std::strerror(errno));
      return kExitIds;
    }
    ::syscall(SYS_close_range, 0u, ~0u, 0u);
    char inner_flag[] = "attempt-inner";
    argv[1] = inner_flag;
    ::execv(then.c_str(), argv);
    return kExitExec;  // nowhere to report: the fds are closed
  }
  const std::string ctx = own_context();
  if (ctx.empty()) return kExitNoContext;
  if (ctx != context) return kExitWrongContext;
  errno = 0;
  if (op == "open-read" || op == "open-rw") {
    const int fd = ::open(target.c_str(), (op == "open-rw" ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd >= 0) return 0;
  } else if (op == "signal") {
    if (::kill(static_cast<pid_t>(std::atoi(target.c_str())), 0) == 0) return 0;
  } else {
    return kExitUsage;
  }
  return errno > 0 && errno < 100 ? errno : 99;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "labels") == 0) return labels(argc, argv);
  if (argc >= 2 && std::strcmp(argv[1], "attempt") == 0) return attempt(argc, argv, false);
  if (argc >= 2 && std::strcmp(argv[1], "attempt-inner") == 0) return attempt(argc, argv, true);
  if (argc >= 2 && std::strcmp(argv[1], "context") == 0) {
    std::printf("%s\n", own_context().c_str());
    return 0;
  }
  std::fprintf(stderr, "usage: bulwark-probe labels PATH... | attempt --uid N --context CTX --op OP --target T | context\n");
  return kExitUsage;
}
