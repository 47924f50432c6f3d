// A raw image on an fd: guest offset = file offset. The size is measured once (lseek, which a
// block device answers too) and cut to whole sectors; nothing past it is ever touched.
#pragma once

#include <memory>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"
#include "devices/blk/disk_backend.h"

namespace bulwark::blk {

class RawDisk final : public DiskBackend {
 public:
  // `writable`: the fd must be open for writing.
  static Result<std::unique_ptr<RawDisk>> open(UniqueFd image, bool writable);

  uint64_t size() const override { return bytes_; }
  bool read(uint64_t offset, const std::vector<std::span<uint8_t>>& buffers) override;
  bool write(uint64_t offset, const std::vector<std::span<const uint8_t>>& buffers) override;
  bool flush() override;
  bool discard(uint64_t offset, uint64_t length) override;
  bool write_zeroes(uint64_t offset, uint64_t length) override;

 private:
  RawDisk(UniqueFd image, uint64_t bytes) : image_(std::move(image)), bytes_(bytes) {}
  UniqueFd image_;
  uint64_t bytes_;
};

}  // namespace bulwark::blk
