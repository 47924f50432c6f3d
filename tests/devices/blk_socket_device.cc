#include "tests/devices/blk_socket_device.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "bulwark/common/unique_fd.h"
#include "tests/devices/device_test_support.h"

namespace bulwark::test {

std::string dev_blk_path() { return BULWARK_DEV_BLK; }

Result<ChildProcess> start_blk_on_socket(const std::string& image, const std::string& socket,
                                         const std::vector<std::string>& extra) {
  if (dev_blk_path().empty()) return Error("bulwark-dev-blk is not built");
  UniqueFd image_fd(::open(image.c_str(), O_RDWR | O_CLOEXEC));
  if (!image_fd.valid()) return Error::from_errno("open " + image, errno);
  std::vector<std::string> args = {"--socket", socket, "--image-fd", std::to_string(image_fd.get()),
                                   "--seccomp", "enforce"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto device = start_with_fds(dev_blk_path(), args, {image_fd.get()});
  if (!device.ok()) return device;
  if (!wait_for_path(socket, std::chrono::seconds(10))) {
    return Error("bulwark-dev-blk did not create " + socket + ": " +
                 device->wait(std::chrono::seconds(1)).describe());
  }
  return device;
}

bool ended_cleanly(const ProcessResult& end) { return end.exited && end.exit_code == 0; }

std::string describe_device_end(const ProcessResult& end) {
  std::string how;
  if (end.timed_out) {
    how = "still running after the deadline (killed by the test)";
  } else if (end.exited) {
    how = "exit " + std::to_string(end.exit_code);
  } else {
    how = "signal " + std::to_string(end.term_signal) + " (" + ::strsignal(end.term_signal) + ")";
  }
  return "bulwark-dev-blk: " + how + "; its stderr:\n" + end.err;
}

}  // namespace bulwark::test
