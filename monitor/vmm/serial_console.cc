#include "monitor/vmm/serial_console.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "bulwark/common/log.h"
#include "monitor/config/message_text.h"

namespace bulwark::vmm {

Result<ConsoleOutput> ConsoleOutput::open(config::SerialOutput kind, const std::string& path) {
  switch (kind) {
    case config::SerialOutput::kNone: return ConsoleOutput(UniqueFd());
    case config::SerialOutput::kStdout: {
      UniqueFd fd(::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3));
      if (!fd.valid()) return Error::from_errno("serial console: stdout", errno);
      return ConsoleOutput(std::move(fd));
    }
    case config::SerialOutput::kFile: {
      UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
      if (!fd.valid()) return Error::from_errno("serial console: cannot open " + config::quoted_path(path), errno);
      return ConsoleOutput(std::move(fd));
    }
  }
  return Error("serial console: unknown output kind");
}

void ConsoleOutput::write_byte(uint8_t byte) {
  if (bytes_written_++ == 0) first_byte_ = std::chrono::steady_clock::now();
  if (!fd_.valid() || broken_) return;
  for (;;) {
    const ssize_t n = ::write(fd_.get(), &byte, 1);
    if (n == 1) return;
    if (n < 0 && errno == EINTR) {
      // A stop request interrupts a blocked write; the byte is dropped with the VM stopping.
      return;
    }
    // EPIPE, ENOSPC, ...: the reader went away. Keep the guest running; stop writing.
    broken_ = true;
    log::warn("serial console output failed; further guest output is discarded");
    return;
  }
}

}  // namespace bulwark::vmm
