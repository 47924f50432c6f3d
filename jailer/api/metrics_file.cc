#include "jailer/api/metrics_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "monitor/config/message_text.h"

namespace bulwark::jail {

Result<MetricsFile> MetricsFile::open(const std::string& path) {
  const std::string shown = config::quoted_text(path, 256);
  // O_NONBLOCK: a FIFO without a reader fails (ENXIO) instead of hanging the launcher.
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0640));
  if (!fd.valid()) return Error::from_errno("metrics_path: open " + shown, errno);
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0) return Error::from_errno("metrics_path: stat " + shown, errno);
  if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)) {
    return Error("metrics_path: " + shown + " is neither a regular file nor a FIFO");
  }
  MetricsFile file;
  file.fd_ = std::move(fd);
  return file;
}

void MetricsFile::append(const std::string& json_line) {
  const std::string line = json_line + "\n";
  const ssize_t n = ::write(fd_.get(), line.data(), line.size());
  if (n != static_cast<ssize_t>(line.size())) ++dropped_;
}

}  // namespace bulwark::jail
