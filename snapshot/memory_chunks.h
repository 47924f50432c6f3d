// The memory file authenticated in chunks. The memory file (guest RAM, the host's bytes like
// the state file) is too large to MAC as one piece before loading it, and restore fills guest
// memory lazily, so each fixed-size chunk carries its own HMAC-SHA-256 over (chunk index, offset
// in the memory file, length, bytes) under the VM's chunk key. The table of those MACs travels
// as a section of the state file, whose own MAC covers it; the loader checks each chunk with
// ChunkVerifier as it reads it, so a swapped, truncated or modified chunk is refused before
// any of its bytes reach guest memory.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "bulwark/common/result.h"
#include "snapshot/hmac.h"
#include "snapshot/state_key.h"

namespace bulwark::snapshot {

inline constexpr uint64_t kDefaultChunkBytes = uint64_t{2} << 20;  // one huge page
inline constexpr uint64_t kMinChunkBytes = 4096;
inline constexpr uint64_t kMaxChunkBytes = uint64_t{1} << 30;

struct ChunkTable {
  uint64_t chunk_bytes = kDefaultChunkBytes;  // a power of two in [4 KiB, 1 GiB]
  uint64_t memory_file_bytes = 0;             // the last chunk may be shorter than chunk_bytes
  std::vector<Mac> macs;                      // one per chunk, in file order
  bool operator==(const ChunkTable&) const = default;
};

struct ChunkExtent {
  uint64_t offset = 0;  // in the memory file
  uint64_t length = 0;
};

// The table's shape: chunk size a power of two in range, a non-empty memory file, and exactly
// ceil(memory_file_bytes / chunk_bytes) chunks. The parser applies it to every table it reads.
Status check_chunk_geometry(uint64_t chunk_bytes, uint64_t memory_file_bytes, uint64_t chunk_count);

// Where chunk `index` lies in the memory file; an error for an index past the table.
Result<ChunkExtent> chunk_extent(const ChunkTable& table, uint64_t index);

Result<Mac> chunk_mac(const StateKey& key, uint64_t index, uint64_t offset,
                      std::span<const uint8_t> bytes);

// The writer's side: the table of a memory file held in memory.
Result<ChunkTable> build_chunk_table(const StateKey& key, std::span<const uint8_t> memory_file,
                                     uint64_t chunk_bytes = kDefaultChunkBytes);

// The loader's side. Holds references: the key and the table outlive the verifier.
class ChunkVerifier {
 public:
  ChunkVerifier(const StateKey& key, const ChunkTable& table) : key_(key), table_(table) {}
  // OK only for exactly the bytes the writer MACed at this index: the whole chunk, at its place.
  Status verify_chunk(uint64_t index, std::span<const uint8_t> bytes) const;

 private:
  const StateKey& key_;
  const ChunkTable& table_;
};

}  // namespace bulwark::snapshot
