// The memory file's chunks as the loader checks them: each exactly as written, at its index,
// under this VM's key; anything else refused before it reaches guest memory.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "snapshot_fixture.h"

namespace bulwark::snapshot {
namespace {

using ::testing::HasSubstr;
using testing::key_for;
using testing::memory_file;

std::span<const uint8_t> chunk_bytes(const std::vector<uint8_t>& memory, const ChunkTable& table, uint64_t i) {
  const ChunkExtent extent = *chunk_extent(table, i);
  return std::span(memory).subspan(extent.offset, extent.length);
}

TEST(MemoryChunks, EveryChunkAsWrittenVerifies) {
  const StateKey key = key_for("vm-1");
  const std::vector<uint8_t> memory = memory_file();
  const ChunkTable table = *build_chunk_table(key, memory, 4096);
  ASSERT_EQ(table.macs.size(), 16u);
  const ChunkVerifier verifier(key, table);
  for (uint64_t i = 0; i < table.macs.size(); ++i) {
    Status status = verifier.verify_chunk(i, chunk_bytes(memory, table, i));
    EXPECT_TRUE(status.ok()) << i << ": " << status.error().message();
  }
}

TEST(MemoryChunks, ModifiedChunkIsRefused) {
  const StateKey key = key_for("vm-1");
  std::vector<uint8_t> memory = memory_file();
  const ChunkTable table = *build_chunk_table(key, memory, 4096);
  memory[5 * 4096 + 100] ^= 1;
  Status status = ChunkVerifier(key, table).verify_chunk(5, chunk_bytes(memory, table, 5));
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message(), HasSubstr("memory file: chunk 5 (offset 20480) fails its HMAC"));
}

TEST(MemoryChunks, SwappedChunksAreRefused) {
  const StateKey key = key_for("vm-1");
  const std::vector<uint8_t> memory = memory_file();
  const ChunkTable table = *build_chunk_table(key, memory, 4096);
  const ChunkVerifier verifier(key, table);
  EXPECT_FALSE(verifier.verify_chunk(1, chunk_bytes(memory, table, 2)).ok());
  EXPECT_FALSE(verifier.verify_chunk(2, chunk_bytes(memory, table, 1)).ok());
  // Identical bytes at two places still carry different MACs: the index is MACed.
  const std::vector<uint8_t> zeros(8192, 0);
  const ChunkTable zero_table = *build_chunk_table(key, zeros, 4096);
  EXPECT_NE(zero_table.macs[0], zero_table.macs[1]);
}

TEST(MemoryChunks, TruncatedChunkIsRefused) {
  const StateKey key = key_for("vm-1");
  const std::vector<uint8_t> memory(10 * 1024, 7);  // 4 KiB, 4 KiB and a 2 KiB last chunk
  const ChunkTable table = *build_chunk_table(key, memory, 4096);
  ASSERT_EQ(table.macs.size(), 3u);
  const ChunkVerifier verifier(key, table);
  EXPECT_TRUE(verifier.verify_chunk(2, std::span(memory).subspan(8192)).ok());
  Status status = verifier.verify_chunk(2, std::span(memory).subspan(8192, 2047));
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message(), HasSubstr("chunk 2 has 2047 bytes, expected 2048"));
  EXPECT_FALSE(verifier.verify_chunk(0, std::span(memory).first(4095)).ok());
  EXPECT_FALSE(verifier.verify_chunk(0, {}).ok());
}

TEST(MemoryChunks, IndexPastTheTableIsRefused) {
  const StateKey key = key_for("vm-1");
  const std::vector<uint8_t> memory = memory_file();
  const ChunkTable table = *build_chunk_table(key, memory, 4096);
  Status status = ChunkVerifier(key, table).verify_chunk(16, chunk_bytes(memory, table, 0));
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message(), HasSubstr("chunk 16: the table has 16 chunks"));
}

TEST(MemoryChunks, AnotherVmsKeyIsRefused) {
  const StateKey key = key_for("vm-1"), other = key_for("vm-2");
  const std::vector<uint8_t> memory = memory_file();
  const ChunkTable table = *build_chunk_table(key, memory, 4096);
  EXPECT_FALSE(ChunkVerifier(other, table).verify_chunk(0, chunk_bytes(memory, table, 0)).ok());
}

TEST(MemoryChunks, GeometryIsChecked) {
  const StateKey key = key_for("vm-1");
  const std::vector<uint8_t> memory = memory_file();
  EXPECT_FALSE(build_chunk_table(key, memory, 0).ok());
  EXPECT_FALSE(build_chunk_table(key, memory, 2048).ok());
  EXPECT_FALSE(build_chunk_table(key, memory, 12288).ok());
  EXPECT_FALSE(build_chunk_table(key, {}, 4096).ok());
  EXPECT_TRUE(build_chunk_table(key, memory).ok());  // 2 MiB default: one short chunk
  EXPECT_THAT(check_chunk_geometry(4096, 8192, 3).error().message(),
              HasSubstr("chunk count: 3 chunks for a memory file of 8192 bytes in chunks of 4096 (expected 2)"));
  // A table whose shape was tampered with after it was built refuses every chunk.
  ChunkTable table = *build_chunk_table(key, memory, 4096);
  table.macs.pop_back();
  EXPECT_FALSE(ChunkVerifier(key, table).verify_chunk(0, std::span(memory).first(4096)).ok());
}

}  // namespace
}  // namespace bulwark::snapshot
