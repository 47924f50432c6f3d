#include "devices/blk/qcow2/table_cache.h"

#include <algorithm>

namespace bulwark::qcow2 {

TableCache::TableCache(uint64_t table_bytes, size_t budget_bytes)
    : table_bytes_(table_bytes), capacity_(std::max<size_t>(1, budget_bytes / table_bytes)) {}

Result<uint8_t*> TableCache::get(ImageFile& file, uint64_t offset) {
  if (uint8_t* p = peek(offset)) return p;
  std::vector<uint8_t> bytes(table_bytes_);
  BULWARK_TRY(file.read_at(offset, bytes));
  insert(offset, std::move(bytes));
  return lru_.front().bytes.data();
}

uint8_t* TableCache::peek(uint64_t offset) {
  auto it = index_.find(offset);
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->bytes.data();
}

void TableCache::insert(uint64_t offset, std::vector<uint8_t> bytes) {
  drop(offset);
  make_room();
  lru_.push_front(Entry{offset, std::move(bytes), false});
  index_[offset] = lru_.begin();
}

void TableCache::drop(uint64_t offset) {
  auto it = index_.find(offset);
  if (it == index_.end()) return;
  if (it->second->dirty) --dirty_count_;
  lru_.erase(it->second);
  index_.erase(it);
}

void TableCache::clear() {
  lru_.clear();
  index_.clear();
  dirty_count_ = 0;
}

void TableCache::mark_dirty(uint64_t offset, uint64_t begin, uint64_t end) {
  auto it = index_.find(offset);
  if (it == index_.end()) return;
  Entry& e = *it->second;
  end = std::min(end, table_bytes_);
  begin = std::min(begin, end);
  if (begin == end) return;
  if (!e.dirty) {
    e.dirty = true;
    e.dirty_begin = begin;
    e.dirty_end = end;
    ++dirty_count_;
    return;
  }
  e.dirty_begin = std::min(e.dirty_begin, begin);
  e.dirty_end = std::max(e.dirty_end, end);
}

std::pair<uint64_t, uint64_t> TableCache::dirty_range(uint64_t offset) const {
  auto it = index_.find(offset);
  if (it == index_.end() || !it->second->dirty) return {0, 0};
  return {it->second->dirty_begin, it->second->dirty_end};
}

void TableCache::clean(uint64_t offset) {
  auto it = index_.find(offset);
  if (it == index_.end() || !it->second->dirty) return;
  it->second->dirty = false;
  it->second->dirty_begin = it->second->dirty_end = 0;
  --dirty_count_;
}

std::vector<uint64_t> TableCache::dirty() const {
  std::vector<uint64_t> out;
  for (const Entry& e : lru_)
    if (e.dirty) out.push_back(e.offset);
  std::sort(out.begin(), out.end());  // written in file order
  return out;
}

void TableCache::make_room() {
  // Evict clean entries from the cold end; dirty ones stay (pinned) until written back.
  auto it = lru_.end();
  while (lru_.size() >= capacity_ && it != lru_.begin()) {
    --it;
    if (it->dirty) continue;
    index_.erase(it->offset);
    it = lru_.erase(it);
  }
}

}  // namespace bulwark::qcow2
