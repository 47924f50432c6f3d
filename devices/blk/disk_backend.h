// What bulwark-dev-blk serves the guest's requests from: a raw image (raw_disk.h) or a qcow2
// image with its backing chain (qcow2_disk.h). Offsets and lengths are already bounded to
// size() by the caller (BlockDevice); a false return is an I/O error of that request only.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace bulwark::blk {

class DiskBackend {
 public:
  virtual ~DiskBackend() = default;
  // Bytes the guest sees (whole sectors), fixed for the process's life.
  virtual uint64_t size() const = 0;
  virtual bool read(uint64_t offset, const std::vector<std::span<uint8_t>>& buffers) = 0;
  virtual bool write(uint64_t offset, const std::vector<std::span<const uint8_t>>& buffers) = 0;
  // Every completed write durable.
  virtual bool flush() = 0;
  // A hint: may keep the data.
  virtual bool discard(uint64_t offset, uint64_t length) = 0;
  // The range reads as zeros afterwards.
  virtual bool write_zeroes(uint64_t offset, uint64_t length) = 0;
};

}  // namespace bulwark::blk
