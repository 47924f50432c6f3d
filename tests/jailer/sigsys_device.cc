// A TEST-ONLY stand-in for a compromised bulwark-dev-blk (jail_device_restart_test.cc), started
// by the real launcher in a device's real jail (--dev-blk points here). It ignores its
// arguments and closes its fds, installs a seccomp filter that kills the process on getppid, and on
// SIGUSR1 (a handler: as PID 1 of its jail's pid namespace it would ignore a plain SIGSYS) makes
// that call: the kernel kills it with SIGSYS exactly as a device's own policy would kill a
// compromised device trying a forbidden call, audit record included.
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <csignal>
#include <cstddef>

namespace {

volatile std::sig_atomic_t g_triggered = 0;

}  // namespace

int main() {
  // The monitor's set-up on the vhost-user socket fails at once instead of waiting for answers.
  for (int fd = 3; fd < 1024; ++fd) ::close(fd);
  std::signal(SIGTERM, [](int) { ::_exit(0); });
  std::signal(SIGUSR1, [](int) { g_triggered = 1; });
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog program{static_cast<unsigned short>(sizeof(filter) / sizeof(filter[0])), filter};
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return 2;
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) != 0) return 3;
  while (g_triggered == 0) ::pause();
  ::syscall(SYS_getppid);  // killed here
  return 4;
}
