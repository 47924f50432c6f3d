#include "jailer/seccomp_audit.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

namespace bulwark::jail {

Result<KernelLogCursor> KernelLogCursor::open_at_end() {
  UniqueFd fd(::open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) return Error::from_errno("open /dev/kmsg", errno);
  if (::lseek(fd.get(), 0, SEEK_END) < 0) return Error::from_errno("seek /dev/kmsg", errno);
  return KernelLogCursor(std::move(fd));
}

std::optional<SeccompAuditRecord> KernelLogCursor::find_seccomp_kill(pid_t pid,
                                                                     std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  char buffer[8192];
  for (;;) {
    const ssize_t n = ::read(fd_.get(), buffer, sizeof buffer);
    if (n > 0) {
      auto record = parse_seccomp_audit_record(std::string_view(buffer, static_cast<size_t>(n)));
      if (record && record->pid == pid) return record;
      continue;
    }
    if (n < 0 && errno == EPIPE) continue;  // records were overwritten: read on from the next
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) return std::nullopt;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd readable{fd_.get(), POLLIN, 0};
    ::poll(&readable, 1, static_cast<int>(left.count()));
  }
}

}  // namespace bulwark::jail
