#include "jailer/attest_cli/evidence_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "bulwark/common/unique_fd.h"

namespace bulwark::attest_cli {

Result<std::vector<uint8_t>> read_bounded_file(const std::string& path, size_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd.valid()) return Error::from_errno("open " + path, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Error::from_errno("stat " + path, errno);
  if (!S_ISREG(st.st_mode)) return Error(path + ": not a regular file");
  std::vector<uint8_t> bytes;
  uint8_t chunk[8192];
  for (;;) {
    const ssize_t n = ::read(fd.get(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::from_errno("read " + path, errno);
    if (n == 0) break;
    if (bytes.size() + static_cast<size_t>(n) > max_bytes) {
      return Error(path + ": larger than " + std::to_string(max_bytes) + " bytes");
    }
    bytes.insert(bytes.end(), chunk, chunk + n);
  }
  return bytes;
}

Status write_file(const std::string& path, std::span<const uint8_t> bytes) {
  const std::string temporary = path + ".new";
  ::unlink(temporary.c_str());
  UniqueFd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!fd.valid()) return Error::from_errno("create " + temporary, errno);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error::from_errno("write " + temporary, errno);
    done += static_cast<size_t>(n);
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) return Error::from_errno("rename " + path, errno);
  return ok_status();
}

std::string printable(std::string_view text, size_t max) {
  std::string out;
  for (size_t i = 0; i < text.size() && i < max; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char escaped[5];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
      out += escaped;
    }
  }
  if (text.size() > max) out += "...";
  return out;
}

}  // namespace bulwark::attest_cli
