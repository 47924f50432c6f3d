// Whole transfers between guest buffers and the image at an offset: preadv/pwritev, resumed
// after short counts and EINTR. The caller has bounded [offset, offset + total) to the image.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace bulwark::blk {

// False on an I/O error or an unexpected end of file.
bool read_fully(int fd, uint64_t offset, const std::vector<std::span<uint8_t>>& buffers);
bool write_fully(int fd, uint64_t offset, const std::vector<std::span<const uint8_t>>& buffers);

}  // namespace bulwark::blk
