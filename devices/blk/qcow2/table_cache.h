// Internal: a bounded LRU cache of cluster-sized metadata tables (L2 tables, refcount blocks),
// keyed by host offset. An entry is clean (the file holds the same bytes: eviction loses
// nothing) or dirty (changed in memory only, pinned until its owner writes it back in the safe
// order and calls clean()). A dirty entry keeps the byte range that changed, so write-back
// writes only that (a run of allocations touches a few neighbouring entries of a table). Its size is the configured byte budget divided by the cluster size,
// at least one table (so a 2 MiB-cluster image with a 1 MiB budget still opens); dirty entries
// may exceed it until the owner writes them back (it does once over_budget()).
#pragma once

#include <cstdint>
#include <list>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bulwark/common/result.h"
#include "devices/blk/qcow2/image_file.h"

namespace bulwark::qcow2 {

class TableCache {
 public:
  TableCache(uint64_t table_bytes, size_t budget_bytes);
  // The table at `offset`, read from the file when not cached. The pointer is valid until the
  // next call that may load or insert (get, insert).
  Result<uint8_t*> get(ImageFile& file, uint64_t offset);
  // A table the caller has just written to the file (a new L2 table, a new refcount block).
  void insert(uint64_t offset, std::vector<uint8_t> bytes);
  // The cached copy, or nullptr (no file read).
  uint8_t* peek(uint64_t offset);
  void drop(uint64_t offset);
  void clear();
  // Bytes [begin, end) of the table changed in memory (the whole table by default: a new
  // table whose cluster on disk holds anything).
  void mark_dirty(uint64_t offset, uint64_t begin = 0, uint64_t end = UINT64_MAX);
  // The changed range of a dirty entry ({0, 0} when clean or absent).
  std::pair<uint64_t, uint64_t> dirty_range(uint64_t offset) const;
  void clean(uint64_t offset);
  // The dirty entries' offsets, ascending.
  std::vector<uint64_t> dirty() const;
  bool has_dirty() const { return dirty_count_ > 0; }
  bool over_budget() const { return dirty_count_ >= capacity_; }
  uint64_t table_bytes() const { return table_bytes_; }

 private:
  struct Entry {
    uint64_t offset;
    std::vector<uint8_t> bytes;
    bool dirty = false;
    uint64_t dirty_begin = 0, dirty_end = 0;
  };
  void make_room();
  uint64_t table_bytes_;
  size_t capacity_;
  size_t dirty_count_ = 0;
  std::list<Entry> lru_;  // front: most recently used
  std::unordered_map<uint64_t, std::list<Entry>::iterator> index_;
};

}  // namespace bulwark::qcow2
