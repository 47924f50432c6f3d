#include "jailer/api/output_file.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

#include "monitor/config/message_text.h"

namespace bulwark::jail {

Result<UniqueFd> open_output_file(const std::string& path, std::string_view field) {
  const std::string what = std::string(field) + ": ";
  const std::string shown = config::quoted_text(path, 256);
  // O_NONBLOCK: a FIFO without a reader fails (ENXIO) instead of hanging the launcher.
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0640));
  if (!fd.valid()) return Error::from_errno(what + "open " + shown, errno);
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0) return Error::from_errno(what + "stat " + shown, errno);
  if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)) {
    return Error(what + shown + " is neither a regular file nor a FIFO");
  }
  return fd;
}

}  // namespace bulwark::jail
