#include "devices/blk/image_io.h"

#include <errno.h>
#include <limits.h>
#include <sys/uio.h>

#include <algorithm>

namespace bulwark::blk {

namespace {

template <typename Span, typename Io>
bool transfer(uint64_t offset, const std::vector<Span>& buffers, Io io) {
  std::vector<iovec> iov;
  for (const Span& buffer : buffers) {
    if (!buffer.empty()) iov.push_back({const_cast<uint8_t*>(buffer.data()), buffer.size()});
  }
  size_t first = 0;
  while (first < iov.size()) {
    const int count = static_cast<int>(std::min<size_t>(iov.size() - first, IOV_MAX));
    const ssize_t n = io(iov.data() + first, count, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) return false;  // the file shrank under us
    offset += static_cast<uint64_t>(n);
    size_t done = static_cast<size_t>(n);
    while (first < iov.size() && done >= iov[first].iov_len) {
      done -= iov[first].iov_len;
      ++first;
    }
    if (first < iov.size() && done > 0) {
      iov[first].iov_base = static_cast<uint8_t*>(iov[first].iov_base) + done;
      iov[first].iov_len -= done;
    }
  }
  return true;
}

}  // namespace

bool read_fully(int fd, uint64_t offset, const std::vector<std::span<uint8_t>>& buffers) {
  return transfer(offset, buffers, [fd](const iovec* iov, int count, off_t at) { return ::preadv(fd, iov, count, at); });
}

bool write_fully(int fd, uint64_t offset, const std::vector<std::span<const uint8_t>>& buffers) {
  return transfer(offset, buffers, [fd](const iovec* iov, int count, off_t at) { return ::pwritev(fd, iov, count, at); });
}

}  // namespace bulwark::blk
