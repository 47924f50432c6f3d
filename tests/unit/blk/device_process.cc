#include "tests/unit/blk/device_process.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace bulwark::test {

int DeviceProcess::wait() {
  int status = 0;
  if (pid > 0) {
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    pid = -1;
  }
  return status;
}

Result<DeviceProcess> start_device_process(const std::string& binary, std::vector<std::string> args,
                                           int image_fd, const std::vector<int>& more_fds) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return Error::from_errno("socketpair", errno);
  UniqueFd ours(pair[0]);
  UniqueFd theirs(pair[1]);
  std::vector<std::string> argv_strings{binary, "--socket-fd", "3"};
  if (image_fd >= 0) {
    argv_strings.push_back("--image-fd");
    argv_strings.push_back("4");
  }
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return Error::from_errno("fork", errno);
  if (pid == 0) {
    // Out of the way first (either may already be 3 or 4); dup2 then clears close-on-exec.
    const int socket_copy = ::fcntl(theirs.get(), F_DUPFD_CLOEXEC, 100);
    const int image_copy = image_fd >= 0 ? ::fcntl(image_fd, F_DUPFD_CLOEXEC, 100) : -1;
    if (socket_copy < 0 || ::dup2(socket_copy, 3) < 0) ::_exit(120);
    // No allocation after fork: a fixed array for the copies.
    int copies[32];
    const size_t count = more_fds.size() < 32 ? more_fds.size() : 32;
    for (size_t i = 0; i < count; ++i) copies[i] = ::fcntl(more_fds[i], F_DUPFD_CLOEXEC, 100);
    if (image_fd >= 0 && (image_copy < 0 || ::dup2(image_copy, 4) < 0)) ::_exit(121);
    for (size_t i = 0; i < count; ++i) {
      if (copies[i] < 0 || ::dup2(copies[i], 5 + static_cast<int>(i)) < 0) ::_exit(123);
    }
    ::execv(binary.c_str(), argv.data());
    ::_exit(122);
  }
  DeviceProcess process;
  process.pid = pid;
  process.socket = std::move(ours);
  return process;
}

}  // namespace bulwark::test
