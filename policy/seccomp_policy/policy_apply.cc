#include "policy/seccomp_policy/policy_apply.h"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <string>
#include <string_view>

#include "bulwark/common/unique_fd.h"

namespace bulwark::policy {

Status install_seccomp_filter(std::span<const sock_filter> program) {
  if (program.empty() || program.size() > BPF_MAXINSNS) {
    return Error("a seccomp program has 1 to " + std::to_string(BPF_MAXINSNS) +
                 " instructions, not " + std::to_string(program.size()));
  }
  sock_fprog fprog{};
  fprog.len = static_cast<unsigned short>(program.size());
  fprog.filter = const_cast<sock_filter*>(program.data());  // the kernel only reads it
  // Required for unprivileged filters; also keeps setuid binaries from escaping the filter.
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return Error::from_errno("prctl(PR_SET_NO_NEW_PRIVS)", errno);
  }
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0) {
    return Error::from_errno("seccomp(SECCOMP_SET_MODE_FILTER)", errno);
  }
  return ok_status();
}

Status apply_seccomp_policy(const SeccompPolicy& policy, ViolationAction action) {
  // Everything compiling allocated is freed before the filter goes on: a free() afterwards
  // could trim the heap (brk, munmap), which the policy need not allow. The program is kept
  // in a stack copy instead (at most 32 KiB).
  std::array<sock_filter, BPF_MAXINSNS> program_copy;
  size_t length = 0;
  {
    Result<std::vector<sock_filter>> program = compile_seccomp_policy(policy, action);
    if (!program.ok()) return program.error();
    if (program->size() > program_copy.size()) return Error("compiled program too large");
    length = program->size();
    std::copy(program->begin(), program->end(), program_copy.begin());
  }
  return install_seccomp_filter(std::span<const sock_filter>(program_copy.data(), length));
}

Status check_recording_tracer() {
  UniqueFd status(::open("/proc/self/status", O_RDONLY | O_CLOEXEC));
  if (!status.valid()) return ok_status();
  char buffer[4096];
  const ssize_t got = ::read(status.get(), buffer, sizeof buffer - 1);
  if (got <= 0) return ok_status();
  const std::string_view text(buffer, static_cast<size_t>(got));
  const size_t field = text.find("\nTracerPid:");
  if (field == std::string_view::npos) return ok_status();
  const std::string_view rest = text.substr(field + 11);
  const size_t digit = rest.find_first_not_of(" \t");
  if (digit != std::string_view::npos && rest[digit] != '0') return ok_status();
  return Error("seccomp record mode needs a tracer: run the command under `bulwark policy record`");
}

}  // namespace bulwark::policy
