#include "monitor/config/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "monitor/config/message_text.h"

namespace bulwark::config {
namespace {

const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a regular file";
}

std::string size_text(uint64_t bytes) {
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  return std::to_string(bytes) + " bytes";
}

}  // namespace

Result<UniqueFd> open_regular_file(std::string_view what, const std::string& path,
                                   int extra_flags) {
  const std::string named = std::string(what) + " " + quoted_path(path);
  // O_NONBLOCK: a FIFO's open would otherwise wait for a writer forever.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | extra_flags));
  if (!fd.valid()) return Error::from_errno("cannot open " + named, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Error::from_errno("cannot stat " + named, errno);
  if (!S_ISREG(st.st_mode))
    return Error(named + " is " + file_kind(st.st_mode) + ", not a regular file");
  // Regular files never block, but the fd must read like any other from here on.
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0)
    return Error::from_errno("cannot clear O_NONBLOCK on " + named, errno);
  return fd;
}

Result<std::vector<uint8_t>> read_regular_file(std::string_view what, const std::string& path,
                                               uint64_t limit) {
  auto fd = open_regular_file(what, path);
  if (!fd.ok()) return fd.error();
  return read_open_file(what, path, fd->get(), limit);
}

Result<std::vector<uint8_t>> read_open_file(std::string_view what, const std::string& path, int fd,
                                            uint64_t limit) {
  const std::string named = std::string(what) + " " + quoted_path(path);
  const std::string too_large = named + " is larger than " + size_text(limit);
  struct stat st {};
  if (::fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_size) > limit) return Error(too_large);
  std::vector<uint8_t> bytes;
  uint8_t chunk[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::from_errno("cannot read " + named, errno);
    if (n == 0) break;
    // The file may grow while it is read: the limit holds for what is read, not for stat.
    if (bytes.size() + static_cast<size_t>(n) > limit) return Error(too_large);
    bytes.insert(bytes.end(), chunk, chunk + n);
  }
  return bytes;
}

}  // namespace bulwark::config
