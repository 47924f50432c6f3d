#include "tests/devices/device_test_support.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

namespace bulwark::test {

Status write_background_image(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid()) return Error::from_errno("create " + path, errno);
  const std::vector<uint8_t> bytes(kImageSectors * kSectorBytes, kBackgroundByte);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error::from_errno("write " + path, errno);
    done += static_cast<size_t>(n);
  }
  return ok_status();
}

Result<std::vector<uint8_t>> read_file_bytes(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Error::from_errno("open " + path, errno);
  std::vector<uint8_t> bytes;
  uint8_t chunk[65536];
  for (;;) {
    const ssize_t n = ::read(fd.get(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::from_errno("read " + path, errno);
    if (n == 0) return bytes;
    bytes.insert(bytes.end(), chunk, chunk + n);
  }
}

std::string check_guest_image(const std::vector<uint8_t>& image, bool expect_zeroes) {
  if (image.size() != kImageSectors * kSectorBytes) {
    return "image is " + std::to_string(image.size()) + " bytes, expected " +
           std::to_string(kImageSectors * kSectorBytes);
  }
  for (uint64_t sector = 0; sector < kImageSectors; ++sector) {
    const bool pattern = sector < 8 || sector == kImageSectors - 1;
    const bool zeroes = sector >= 16 && sector < 20;
    const bool discarded = sector >= 20 && sector < 24;  // contents unspecified
    if (discarded || (zeroes && !expect_zeroes)) continue;
    for (uint64_t i = 0; i < kSectorBytes; ++i) {
      const uint8_t want = pattern ? guest_pattern_byte(sector, i) : zeroes ? 0 : kBackgroundByte;
      const uint8_t got = image[sector * kSectorBytes + i];
      if (got != want) {
        return "sector " + std::to_string(sector) + " byte " + std::to_string(i) + " is " +
               std::to_string(got) + ", expected " + std::to_string(want);
      }
    }
  }
  return "";
}

Result<ChildProcess> start_with_fds(const std::string& program, const std::vector<std::string>& args,
                                    const std::vector<int>& inherited) {
  for (int fd : inherited) ::fcntl(fd, F_SETFD, 0);
  auto child = ChildProcess::start(program, args);
  for (int fd : inherited) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  return child;
}

Result<std::pair<UniqueFd, UniqueFd>> make_socketpair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return Error::from_errno("socketpair", errno);
  }
  return std::pair{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

bool wait_for_path(const std::string& path, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  struct stat st {};
  while (::stat(path.c_str(), &st) != 0) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace bulwark::test
