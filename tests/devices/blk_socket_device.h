// bulwark-dev-blk as the tests outside the monitor start it: listening on a unix socket path
// for one frontend (bulwark-monitor or QEMU), the image handed over as an open fd, its own
// seccomp policy enforced.
#pragma once

#include <string>
#include <vector>

#include "bulwark/common/result.h"
#include "tests/integration/monitor_process.h"

namespace bulwark::test {

// Path of the bulwark-dev-blk binary under test, "" when this build has none.
std::string dev_blk_path();

// Starts bulwark-dev-blk --socket `socket` --image-fd N --seccomp enforce `extra...` on `image`
// (opened read-write) and waits until the socket exists.
Result<ChildProcess> start_blk_on_socket(const std::string& image, const std::string& socket,
                                         const std::vector<std::string>& extra = {});

// How a device process ended, for assertion messages: "exit 0", "signal 31 (Bad system call)"
// or "still running after the deadline", then its stderr.
std::string describe_device_end(const ProcessResult& end);
// True when it exited by itself with status 0: not killed (SIGSYS, SIGSEGV, SIGABRT...).
bool ended_cleanly(const ProcessResult& end);

}  // namespace bulwark::test
