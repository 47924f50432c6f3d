#include "devices/blk/raw_disk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <unistd.h>

#include <algorithm>

#include "devices/blk/blk_request.h"
#include "devices/blk/image_io.h"

namespace bulwark::blk {

Result<std::unique_ptr<RawDisk>> RawDisk::open(UniqueFd image, bool writable) {
  const int mode = ::fcntl(image.get(), F_GETFL);
  if (mode < 0) return Error::from_errno("image fd", errno);
  if (writable && (mode & O_ACCMODE) == O_RDONLY) {
    return Error("the image fd is open read-only; pass --read-only");
  }
  // lseek, not fstat: a block device's size shows only this way.
  const off_t end = ::lseek(image.get(), 0, SEEK_END);
  if (end < 0) return Error::from_errno("size of the image", errno);
  const uint64_t bytes = static_cast<uint64_t>(end) / kSectorSize * kSectorSize;
  return std::unique_ptr<RawDisk>(new RawDisk(std::move(image), bytes));
}

bool RawDisk::read(uint64_t offset, const std::vector<std::span<uint8_t>>& buffers) {
  return read_fully(image_.get(), offset, buffers);
}

bool RawDisk::write(uint64_t offset, const std::vector<std::span<const uint8_t>>& buffers) {
  return write_fully(image_.get(), offset, buffers);
}

bool RawDisk::flush() { return ::fdatasync(image_.get()) == 0; }

bool RawDisk::discard(uint64_t offset, uint64_t length) {
  // A discard is a hint: a file system that cannot punch holes just keeps the data.
  return ::fallocate(image_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                     static_cast<off_t>(length)) == 0 ||
         errno == EOPNOTSUPP;
}

bool RawDisk::write_zeroes(uint64_t offset, uint64_t length) {
  const off_t at = static_cast<off_t>(offset);
  const off_t len = static_cast<off_t>(length);
  if (::fallocate(image_.get(), FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, at, len) == 0) return true;
  if (errno != EOPNOTSUPP) return false;
  // A punched hole reads back as zeroes too.
  if (::fallocate(image_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, at, len) == 0) return true;
  if (errno != EOPNOTSUPP) return false;
  static const uint8_t zeroes[64 * 1024] = {};
  while (length > 0) {
    const uint64_t n = std::min<uint64_t>(length, sizeof zeroes);
    if (!write_fully(image_.get(), offset, {std::span<const uint8_t>(zeroes, n)})) return false;
    offset += n;
    length -= n;
  }
  return true;
}

}  // namespace bulwark::blk
