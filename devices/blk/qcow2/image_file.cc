// MemoryImageFile: an image held in a byte vector (fuzz targets and unit tests).
#include "devices/blk/qcow2/image_file.h"

#include <cstring>
#include <string>

#include "devices/blk/qcow2/format.h"

namespace bulwark::qcow2 {

Status MemoryImageFile::read_at(uint64_t offset, std::span<uint8_t> data) {
  const auto end = format::add(offset, data.size());
  if (!end || *end > bytes_.size())
    return Error("qcow2: read of " + std::to_string(data.size()) + " bytes at " +
                 std::to_string(offset) + " is past the end of the image (" +
                 std::to_string(bytes_.size()) + " bytes)");
  if (!data.empty()) std::memcpy(data.data(), bytes_.data() + offset, data.size());
  return ok_status();
}

Status MemoryImageFile::write_at(uint64_t offset, std::span<const uint8_t> data) {
  const auto end = format::add(offset, data.size());
  if (!end || *end > max_size_)
    return Error("qcow2: write of " + std::to_string(data.size()) + " bytes at " +
                 std::to_string(offset) + " would grow the image past its limit of " +
                 std::to_string(max_size_) + " bytes");
  if (*end > bytes_.size()) bytes_.resize(*end, 0);
  if (!data.empty()) std::memcpy(bytes_.data() + offset, data.data(), data.size());
  return ok_status();
}

}  // namespace bulwark::qcow2
