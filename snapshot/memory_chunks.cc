#include "snapshot/memory_chunks.h"

#include <array>
#include <bit>
#include <cstring>
#include <string>

namespace bulwark::snapshot {

namespace {

std::array<uint8_t, 8> le64(uint64_t value) {
  std::array<uint8_t, 8> bytes;
  std::memcpy(bytes.data(), &value, bytes.size());  // x86-64 host: little endian
  return bytes;
}

}  // namespace

Status check_chunk_geometry(uint64_t chunk_bytes, uint64_t memory_file_bytes, uint64_t chunk_count) {
  if (chunk_bytes < kMinChunkBytes || chunk_bytes > kMaxChunkBytes || !std::has_single_bit(chunk_bytes))
    return Error("chunk size: expected a power of two from 4096 to 1073741824, got " +
                 std::to_string(chunk_bytes));
  if (memory_file_bytes == 0) return Error("memory file size: 0");
  const uint64_t expected = memory_file_bytes / chunk_bytes + (memory_file_bytes % chunk_bytes != 0);
  if (chunk_count != expected)
    return Error("chunk count: " + std::to_string(chunk_count) + " chunks for a memory file of " +
                 std::to_string(memory_file_bytes) + " bytes in chunks of " +
                 std::to_string(chunk_bytes) + " (expected " + std::to_string(expected) + ")");
  return ok_status();
}

Result<ChunkExtent> chunk_extent(const ChunkTable& table, uint64_t index) {
  BULWARK_TRY(check_chunk_geometry(table.chunk_bytes, table.memory_file_bytes, table.macs.size()));
  if (index >= table.macs.size())
    return Error("chunk " + std::to_string(index) + ": the table has " +
                 std::to_string(table.macs.size()) + " chunks");
  const uint64_t offset = index * table.chunk_bytes;  // < memory_file_bytes: no overflow
  const uint64_t left = table.memory_file_bytes - offset;
  return ChunkExtent{offset, left < table.chunk_bytes ? left : table.chunk_bytes};
}

Result<Mac> chunk_mac(const StateKey& key, uint64_t index, uint64_t offset,
                      std::span<const uint8_t> bytes) {
  const auto index_bytes = le64(index), offset_bytes = le64(offset), length_bytes = le64(bytes.size());
  return hmac_sha256(key.chunk_mac_key(), {index_bytes, offset_bytes, length_bytes, bytes});
}

Result<ChunkTable> build_chunk_table(const StateKey& key, std::span<const uint8_t> memory_file,
                                     uint64_t chunk_bytes) {
  ChunkTable table;
  table.chunk_bytes = chunk_bytes;
  table.memory_file_bytes = memory_file.size();
  const uint64_t count =
      chunk_bytes == 0 ? 0 : memory_file.size() / chunk_bytes + (memory_file.size() % chunk_bytes != 0);
  BULWARK_TRY(check_chunk_geometry(chunk_bytes, memory_file.size(), count));
  table.macs.resize(count);
  for (uint64_t i = 0; i < count; ++i) {
    const ChunkExtent extent = *chunk_extent(table, i);
    auto mac = chunk_mac(key, i, extent.offset, memory_file.subspan(extent.offset, extent.length));
    if (!mac.ok()) return mac.error();
    table.macs[i] = *mac;
  }
  return table;
}

Status ChunkVerifier::verify_chunk(uint64_t index, std::span<const uint8_t> bytes) const {
  auto extent = chunk_extent(table_, index);
  if (!extent.ok()) return extent.error().wrap("memory file");
  if (bytes.size() != extent->length)
    return Error("memory file: chunk " + std::to_string(index) + " has " + std::to_string(bytes.size()) +
                 " bytes, expected " + std::to_string(extent->length));
  auto mac = chunk_mac(key_, index, extent->offset, bytes);
  if (!mac.ok()) return mac.error();
  if (!macs_equal(*mac, table_.macs[index]))
    return Error("memory file: chunk " + std::to_string(index) + " (offset " +
                 std::to_string(extent->offset) + ") fails its HMAC: modified, moved or from another snapshot");
  return ok_status();
}

}  // namespace bulwark::snapshot
