// L1/L2 mapping: lookups through the L2 cache, and the L2 side of allocating writes.
#include "devices/blk/qcow2/cluster_map.h"

#include <algorithm>
#include <string>

#include "devices/blk/qcow2/format.h"
#include "devices/blk/qcow2/refcounts.h"

namespace bulwark::qcow2 {
namespace {
using namespace format;
Error cluster_map_error(const std::string& what) { return Error("qcow2: " + what); }
// L1 entry bits that must be zero: 0-8 and 56-62.
constexpr uint64_t kL1Reserved = 0x7f000000000001ffull;
}  // namespace

ClusterMap::ClusterMap(Context& ctx)
    : ctx_(ctx), cache_(ctx.cluster_size(), ctx.options.l2_cache_bytes) {}

Result<std::unique_ptr<ClusterMap>> ClusterMap::open(Context& ctx) {
  std::unique_ptr<ClusterMap> m(new ClusterMap(ctx));
  const uint32_t n = ctx.header.l1_size;
  std::vector<uint8_t> bytes(uint64_t{n} * 8);  // <= 32 MiB and inside the file (parse_header)
  BULWARK_TRY(ctx.file.read_at(ctx.header.l1_table_offset, bytes));
  m->l1_.resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    const uint64_t e = be64(&bytes[uint64_t{i} * 8]);
    if (e & kL1Reserved) return cluster_map_error("L1 entry " + std::to_string(i) + " has reserved bits set");
    m->l1_[i] = e;
    const uint64_t off = e & kOffsetMask;
    if (off == 0) continue;
    if (auto s = ctx.check_cluster(off, "L2 table of L1 entry " + std::to_string(i), true); !s)
      return s.error();
    m->l2_clusters_.push_back(off >> ctx.cluster_bits());
  }
  std::sort(m->l2_clusters_.begin(), m->l2_clusters_.end());
  if (std::adjacent_find(m->l2_clusters_.begin(), m->l2_clusters_.end()) != m->l2_clusters_.end())
    return cluster_map_error("two L1 entries name the same L2 table");
  return m;
}

bool ClusterMap::is_l2_table(uint64_t cluster) const {
  return std::binary_search(l2_clusters_.begin(), l2_clusters_.end(), cluster);
}

bool ClusterMap::has_table(uint64_t guest_cluster) const {
  const uint64_t i = guest_cluster / l2_entries();
  return i < l1_.size() && (l1_[i] & kOffsetMask) != 0;
}

Result<uint64_t> ClusterMap::entry(uint64_t guest_cluster) {
  const uint64_t i = guest_cluster / l2_entries();
  if (i >= l1_.size()) return cluster_map_error("guest cluster " + std::to_string(guest_cluster) + " is past the L1 table");
  const uint64_t l2 = l1_[i] & kOffsetMask;
  if (l2 == 0) return uint64_t{0};
  auto table = cache_.get(ctx_.file, l2);
  if (!table) return table.error();
  return be64(*table + (guest_cluster % l2_entries()) * 8);
}

Status ClusterMap::prepare(uint64_t guest_cluster, std::vector<uint64_t>& frees) {
  Refcounts& rc = *ctx_.refcounts;
  const uint64_t cs = ctx_.cluster_size();
  const uint64_t i = guest_cluster / l2_entries();
  if (i >= l1_.size()) return cluster_map_error("guest cluster " + std::to_string(guest_cluster) + " is past the L1 table");
  const uint64_t old = l1_[i] & kOffsetMask;
  std::vector<uint8_t> table(cs, 0);
  if (old != 0) {
    auto count = rc.get(old / cs);
    if (!count) return count.error();
    if (*count == 1) return ok_status();
    if (*count == 0) return cluster_map_error("the L2 table at " + std::to_string(old) + " has refcount 0");
    auto cached = cache_.get(ctx_.file, old);
    if (!cached) return cached.error();
    std::copy(*cached, *cached + cs, table.begin());
  }
  // Rule 2 (refcounts.cc): the refcount now (written through); the table and the L1 entry
  // in memory until write_back() writes them, table first.
  auto fresh = rc.allocate();
  if (!fresh) return fresh.error();
  const uint64_t off = *fresh * cs;
  l1_[i] = off | kCopied;
  dirty_l1_.push_back(i);
  l2_clusters_.insert(std::lower_bound(l2_clusters_.begin(), l2_clusters_.end(), *fresh), *fresh);
  cache_.insert(off, std::move(table));
  cache_.mark_dirty(off);
  if (old != 0) {
    // Rule 6: the shared table loses this reference once the new L1 entry is durable.
    auto it = std::lower_bound(l2_clusters_.begin(), l2_clusters_.end(), old / cs);
    if (it != l2_clusters_.end() && *it == old / cs) l2_clusters_.erase(it);
    cache_.drop(old);
    frees.push_back(old);
  }
  return ok_status();
}

Status ClusterMap::set_entry(uint64_t guest_cluster, uint64_t value) {
  const uint64_t i = guest_cluster / l2_entries();
  const uint64_t l2 = i < l1_.size() ? (l1_[i] & kOffsetMask) : 0;
  if (l2 == 0) return cluster_map_error("internal: set_entry without an L2 table");
  auto table = cache_.get(ctx_.file, l2);
  if (!table) return table.error();
  const uint64_t at = (guest_cluster % l2_entries()) * 8;
  put_be64(*table + at, value);
  cache_.mark_dirty(l2, at, at + 8);
  return ok_status();
}

Status ClusterMap::write_back() {
  const std::vector<uint64_t> tables = cache_.dirty();
  if (tables.empty() && dirty_l1_.empty()) return ok_status();
  BULWARK_TRY(ctx_.file.flush());  // rules 1 and 2: data and refcounts before the tables
  for (uint64_t off : tables) {
    // Only the entries that changed (a new table is dirty as a whole): the rest of the table
    // on disk already holds the cached bytes.
    const auto [begin, end] = cache_.dirty_range(off);
    const uint8_t* bytes = cache_.peek(off);
    BULWARK_TRY(ctx_.file.write_at(off + begin, std::span<const uint8_t>(bytes + begin, end - begin)));
    cache_.clean(off);
  }
  if (!dirty_l1_.empty()) {
    BULWARK_TRY(ctx_.file.flush());  // rule 2: L2 tables before the L1 entries naming them
    // Neighbouring entries (a run of new L2 tables) in one write.
    std::sort(dirty_l1_.begin(), dirty_l1_.end());
    dirty_l1_.erase(std::unique(dirty_l1_.begin(), dirty_l1_.end()), dirty_l1_.end());
    for (size_t a = 0; a < dirty_l1_.size();) {
      size_t b = a + 1;
      while (b < dirty_l1_.size() && dirty_l1_[b] == dirty_l1_[b - 1] + 1) ++b;
      std::vector<uint8_t> raw((b - a) * 8);
      for (size_t k = a; k < b; ++k) put_be64(&raw[(k - a) * 8], l1_[dirty_l1_[k]]);
      BULWARK_TRY(ctx_.file.write_at(ctx_.header.l1_table_offset + dirty_l1_[a] * 8, raw));
      a = b;
    }
    dirty_l1_.clear();
  }
  return ok_status();
}

}  // namespace bulwark::qcow2
