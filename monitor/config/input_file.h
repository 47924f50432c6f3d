// Reading a tenant-named input file (kernel, initrd, config) without ever blocking on it: a
// FIFO, a terminal or a device named as a kernel must be refused at once, not waited on.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"

namespace bulwark::config {

// Opens `path` read-only with O_NONBLOCK|O_CLOEXEC|O_NOCTTY (so opening a FIFO with no writer
// returns at once), refuses anything fstat does not call a regular file, then clears
// O_NONBLOCK. `what` ("kernel", "initrd", "config file") starts every message; the path is
// quoted and escaped in it. Errors keep the errno of a failed call (EMFILE: out of fds).
// `extra_flags` are added to the open (O_NOFOLLOW for a file that must not be a symlink).
Result<UniqueFd> open_regular_file(std::string_view what, const std::string& path,
                                   int extra_flags = 0);

// The rest of an open file, refused when it holds more than `limit` bytes.
Result<std::vector<uint8_t>> read_open_file(std::string_view what, const std::string& path, int fd,
                                            uint64_t limit);

// open_regular_file(), then the whole file, refused when it holds more than `limit` bytes.
Result<std::vector<uint8_t>> read_regular_file(std::string_view what, const std::string& path,
                                               uint64_t limit);

}  // namespace bulwark::config
