// Internal: guest clusters mapped to host clusters through the L1 table (held in memory,
// bounded by 32 MiB at open) and L2 tables (a bounded LRU cache, OpenOptions::l2_cache_bytes),
// and the L2 side of writes: a new L2 table, or a copy of one shared with a snapshot, before
// an entry in it changes. Changed L2 tables and L1 entries are held in memory (write-back) and
// reach the file only through write_back(), in the order refcounts.cc describes.
#pragma once

#include <cstdint>
#include <vector>

#include "bulwark/common/result.h"
#include "devices/blk/qcow2/context.h"
#include "devices/blk/qcow2/table_cache.h"

namespace bulwark::qcow2 {

class ClusterMap {
 public:
  // Reads and checks the L1 table (every L2 offset aligned, inside the file, not metadata,
  // none used twice).
  static Result<std::unique_ptr<ClusterMap>> open(Context& ctx);

  uint64_t l2_entries() const { return ctx_.cluster_size() / 8; }
  // The L2 entry of a guest cluster (0 when it has no L2 table).
  Result<uint64_t> entry(uint64_t guest_cluster);
  // Makes the L2 table of `guest_cluster` exist with refcount 1 (allocating it, or copying a
  // table shared with a snapshot; the shared table's offset is added to `frees`, to be
  // released once the new L1 entry is durable).
  Status prepare(uint64_t guest_cluster, std::vector<uint64_t>& frees);
  // Changes the entry in memory (the table must have been prepared).
  Status set_entry(uint64_t guest_cluster, uint64_t value);
  // FLUSH (data and refcounts durable) -> changed L2 tables written -> FLUSH -> changed L1
  // entries written. The caller flushes again before freeing what the old entries named.
  Status write_back();
  bool has_dirty() const { return !dirty_l1_.empty() || cache_.has_dirty(); }
  bool over_budget() const { return cache_.over_budget(); }
  bool has_table(uint64_t guest_cluster) const;
  bool is_l2_table(uint64_t cluster) const;
  const std::vector<uint64_t>& l1() const { return l1_; }

 private:
  explicit ClusterMap(Context& ctx);
  Context& ctx_;
  std::vector<uint64_t> l1_;
  std::vector<uint64_t> l2_clusters_;  // sorted host clusters of the active L2 tables
  std::vector<uint64_t> dirty_l1_;     // L1 indices changed in memory only
  TableCache cache_;
};

}  // namespace bulwark::qcow2
