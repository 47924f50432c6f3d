// Internal: the refcount table and its blocks (QEMU docs/interop/qcow2.txt, "Host cluster
// management"), refcount widths 1 to 64 bits, and the cluster allocator built on them. The
// write order that keeps the image consistent at every instant is in refcounts.cc.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "bulwark/common/result.h"
#include "devices/blk/qcow2/image_file.h"
#include "devices/blk/qcow2/qcow2_header.h"
#include "devices/blk/qcow2/table_cache.h"

namespace bulwark::qcow2 {

class Refcounts {
 public:
  // `reserved(cluster)`: metadata the allocator must never hand out nor put a refcount block
  // on, whatever its refcount says (the header, L1 table, snapshot table, L2 tables). `header`
  // is the image's (the refcount table's place in it changes when the table grows).
  static Result<std::unique_ptr<Refcounts>> open(ImageFile& file, Header& header, size_t cache_bytes,
                                                 uint64_t max_file_size,
                                                 std::function<bool(uint64_t)> reserved);

  uint64_t max_refcount() const { return max_refcount_; }
  Result<uint64_t> get(uint64_t cluster);
  // Changed in the cached block (write-back: the file sees it at write_back(), or when the
  // dirty blocks fill the cache's budget); allocates a refcount block, or grows the table,
  // first when the cluster has none.
  Status set(uint64_t cluster, uint64_t value);
  // The changed entries of every dirty block written to the file (not flushed). Safe at any
  // moment (refcounts.cc, rule 1): a count on disk is never below what durable tables name.
  Status write_back();
  bool has_dirty() const { return cache_.has_dirty(); }
  // +1 / -1 with overflow and underflow refused. A cluster reaching 0 becomes free.
  Status increment(uint64_t cluster);
  Status decrement(uint64_t cluster);
  // A free cluster (refcount 0, below the size bound), its refcount set to 1 (in the cache,
  // see set()). Returns the cluster index.
  Result<uint64_t> allocate();

  // Whether `cluster` holds the refcount table or a refcount block.
  bool is_refcount_metadata(uint64_t cluster) const;
  uint64_t entries_per_block() const { return entries_per_block_; }
  // Every refcount block's cluster and the table's clusters (for the refcount rebuild).
  std::vector<uint64_t> metadata_clusters() const;
  // Replaces every refcount with `counts` (cluster index -> refcount; clusters past its end
  // get 0): the rebuild after an unclean shutdown with lazy refcounts. Writes a fresh table
  // and blocks; the caller flushes.
  Status rebuild(const std::vector<uint64_t>& counts);

 private:
  Refcounts(ImageFile& file, Header& header, size_t cache_bytes, uint64_t max_file_size,
            std::function<bool(uint64_t)> reserved);
  Status check_block_offset(uint64_t offset) const;
  bool unusable(uint64_t cluster) const;
  Result<uint8_t*> block_for(uint64_t cluster, bool create, uint64_t avoid);
  Status add_block(uint64_t index, uint64_t avoid);
  Status grow_table(uint64_t min_index, uint64_t avoid);
  uint64_t read_entry(const uint8_t* block, uint64_t index) const;
  void write_entry(uint8_t* block, uint64_t index, uint64_t value) const;
  // Byte range of the entry for `index` in a block (the bytes to write through).
  std::pair<uint64_t, uint64_t> entry_bytes(uint64_t index) const;

  ImageFile& file_;
  Header& header_;
  uint64_t cluster_size_;
  uint64_t max_clusters_;
  uint32_t refcount_bits_;
  uint64_t max_refcount_;
  uint64_t entries_per_block_;
  std::vector<uint64_t> table_;          // refcount table entries (host offsets, 0 = none)
  std::vector<uint64_t> block_clusters_;  // sorted clusters of the refcount blocks
  TableCache cache_;
  std::function<bool(uint64_t)> reserved_;
  uint64_t free_cursor_ = 1;  // no free cluster below this one
  const std::vector<uint64_t>* rebuild_counts_ = nullptr;  // during rebuild(): clusters in use
};

}  // namespace bulwark::qcow2
