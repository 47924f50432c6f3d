// Pieces the device tests share: a raw disk image with a known background, fds handed to a
// child at their own number, and the virtio_blk guest's pattern.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"
#include "tests/integration/monitor_process.h"
#include "tests/integration/virtio_disk_image.h"  // kSectorBytes, shared with the image helpers

namespace bulwark::test {

inline constexpr uint64_t kImageSectors = 2048;  // 1 MiB
inline constexpr uint8_t kBackgroundByte = 0x3c;

// What the virtio_blk guest writes at byte i of sector s (tests/guests/virtio_blk.c).
inline uint8_t guest_pattern_byte(uint64_t sector, uint64_t i) {
  return static_cast<uint8_t>(sector * 31 + i * 7 + 0xa5);
}

// A file of kImageSectors sectors, every byte kBackgroundByte.
Status write_background_image(const std::string& path);
Result<std::vector<uint8_t>> read_file_bytes(const std::string& path);

// Checks the image the guest wrote: the pattern in sectors 0..7 and the last one, zeros in
// 16..19 when `expect_zeroes`, and the background everywhere it never wrote. "" when all
// holds, else the first difference.
std::string check_guest_image(const std::vector<uint8_t>& image, bool expect_zeroes);

// Starts `program args` with `inherited` fds left open in the child at their own numbers
// (every other fd of the tests stays close-on-exec).
Result<ChildProcess> start_with_fds(const std::string& program, const std::vector<std::string>& args,
                                    const std::vector<int>& inherited);

// A connected unix stream socketpair, both ends close-on-exec.
Result<std::pair<UniqueFd, UniqueFd>> make_socketpair();

// Waits until `path` exists (a device process's listening socket) or the timeout passes.
bool wait_for_path(const std::string& path, std::chrono::milliseconds timeout);

}  // namespace bulwark::test
