// The bytes under a disk format: a file the device process was given as an fd, or memory (fuzz
// targets, tests). The qcow2 code reaches its image only through this, so it runs unchanged on
// a fuzzed in-memory image and can be given a file that forgets unflushed writes (crash tests).
// Tenant-controlled bytes: every offset a caller passes was bounds-checked by the caller against
// what it parsed; implementations still refuse reads past the end (an error, never zeros).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "bulwark/common/result.h"

namespace bulwark::qcow2 {

class ImageFile {
 public:
  virtual ~ImageFile() = default;
  // The current size in bytes.
  virtual uint64_t size() const = 0;
  // Exactly data.size() bytes at `offset`; an error when any of them lies past the end.
  virtual Status read_at(uint64_t offset, std::span<uint8_t> data) = 0;
  // Exactly data.size() bytes at `offset`; the file grows when the write ends past it (up to
  // the implementation's limit, an error past it).
  virtual Status write_at(uint64_t offset, std::span<const uint8_t> data) = 0;
  // Every write before this call is durable once it returns.
  virtual Status flush() = 0;
};

// An image held in memory, growing up to `max_size` bytes (fuzzing, unit tests).
class MemoryImageFile final : public ImageFile {
 public:
  explicit MemoryImageFile(std::vector<uint8_t> bytes, uint64_t max_size = uint64_t{1} << 30)
      : bytes_(std::move(bytes)), max_size_(max_size) {}
  uint64_t size() const override { return bytes_.size(); }
  Status read_at(uint64_t offset, std::span<uint8_t> data) override;
  Status write_at(uint64_t offset, std::span<const uint8_t> data) override;
  Status flush() override { return ok_status(); }
  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
  uint64_t max_size_;
};

}  // namespace bulwark::qcow2
