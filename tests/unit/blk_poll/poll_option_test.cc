// --poll-us N: 0 (off) to 1000 microseconds; anything else is a usage error (exit 2) before the
// device serves anything. An accepted value starts the device, which exits 0 when its frontend
// hangs up.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/blk/device_process.h"

namespace bulwark::test {
namespace {

UniqueFd scratch_image() {
  char path[] = "/tmp/bulwark-blk-poll-XXXXXX";
  UniqueFd file(::mkstemp(path));
  if (file.valid()) {
    ::unlink(path);
    if (::ftruncate(file.get(), 1 << 20) != 0) file.reset();
  }
  return file;
}

int exit_status(std::vector<std::string> args) {
  UniqueFd image = scratch_image();
  if (!image.valid()) return -1;
  args.insert(args.end(), {"--seccomp", "enforce"});
  auto process = start_device_process(BULWARK_DEV_BLK_BINARY, args, image.get());
  if (!process.ok()) return -1;
  process->socket.reset();  // a frontend that hangs up at once
  const int status = process->wait();
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(BlkPollOption, OutOfRangeOrNonNumericValuesAreUsageErrors) {
  for (const char* value : {"1001", "-1", "abc", "", "32us", "99999999999"}) {
    EXPECT_EQ(exit_status({"--poll-us", value}), 2) << "--poll-us " << value << " accepted";
  }
  EXPECT_EQ(exit_status({"--poll-us"}), 2) << "--poll-us without a value accepted";
}

TEST(BlkPollOption, ValuesInRangeStartTheDevice) {
  for (const char* value : {"0", "1", "32", "1000"}) {
    EXPECT_EQ(exit_status({"--poll-us", value}), 0) << "--poll-us " << value;
  }
}

}  // namespace
}  // namespace bulwark::test
