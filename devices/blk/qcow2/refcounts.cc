// Refcounts and cluster allocation.
//
// qcow2: write order (crash safety)
// ---------------------------------
// Refcount blocks, L2 tables and L1 entries that a request changes are held in memory (the
// refcount and L2 caches' dirty entries, pinned, each with the byte range that changed) and
// reach the file only in write-back, so a run of allocating writes costs its data writes and,
// at the next write-back, one write per changed refcount block and L2 table (the changed
// range only) and one per run of changed L1 entries. Write-back runs at a guest FLUSH, when the
// dirty tables fill the L2 cache's budget, when many clusters wait to be freed, when the image
// is full and freeing would make room, and when the image is closed; dirty refcount blocks
// also go to the file alone when they fill the refcount cache's budget (safe at any moment,
// see rule 1). Write-back is the order QEMU's qcow2 cache dependencies give (refcount blocks
// before L2 tables before anything relying on them):
//
//     dirty refcount blocks written
//     FLUSH                    data clusters and refcounts durable
//     dirty L2 tables written
//     FLUSH                    (only when L1 entries changed)
//     dirty L1 entries written
//     FLUSH                    (only when clusters wait to be freed)
//     refcounts of the replaced clusters decremented, and the blocks written (not flushed)
//     ... and a guest FLUSH ends with one more FLUSH.
//
// Why a crash (SIGKILL, which keeps what was written; or a power cut, which keeps any subset
// of what was not flushed) at any instant leaves an image `qemu-img check` finds free of
// corruption (a leak at worst, which `qemu-img check -r leaks` repairs), and every write the
// guest saw complete before a FLUSH readable:
//  1. A new data cluster: its refcount is set in memory and the data written; the refcount
//     block is written before the first FLUSH of the next write-back, and the L2 entry naming
//     the cluster only after that FLUSH. Before it nothing on disk names the cluster (a leak
//     at worst); after it, the cluster's refcount and contents are durable. So the count on
//     disk is never below what the durable tables name: increments are on disk (and flushed)
//     before any table naming their cluster is written, and decrements are made (in memory)
//     only once nothing durable names the cluster (rule 5). Writing a dirty refcount block is
//     therefore safe at any moment, which lets a full refcount cache write its blocks alone.
//  2. A new L2 table (empty, or a copy of one shared with a snapshot): refcount set; table
//     written after the first FLUSH; the L1 entry naming it only after the second.
//  3. A new refcount block: written (counting itself) -> FLUSH -> refcount table entry
//     written. Refcounts set in it afterwards are written and flushed by rule 1 before any
//     table names the clusters they count.
//  4. A grown refcount table: new blocks covering the new table and themselves, and the new
//     table (old entries plus the new blocks) written -> FLUSH -> header's refcount table
//     offset and size written (one 12-byte write inside the first sector) -> FLUSH -> the old
//     table's clusters freed. Until the header write, the old table is the valid one.
//  5. Freeing (copy-on-write replacing a shared or compressed cluster, discard, zeroing, an
//     L2 table replaced by its copy): the entry that named the old cluster is rewritten in
//     memory, and the old cluster waits in a list; its refcount drops (in memory, then
//     written) only after the new entry is durable (the FLUSH before the decrements). Until
//     then it cannot be handed out again, so no cluster is ever named twice; a lost decrement
//     is a leak.
//  6. Copy-on-write of an L2 table shared with a snapshot (refcount > 1): the data clusters
//     it lists already count one reference per L1 table that reaches them (QEMU's snapshot
//     rule), so the copy adds no references; the old table is freed by rule 5.
//  7. Guest FLUSH: write-back, then FLUSH. Every write the guest saw complete before it is
//     then durable with the metadata that maps it. Writes into clusters the image already
//     owns (refcount 1) go straight to the file, with no metadata.
// Refcounts are never lazy here: Bulwark keeps them exact at every write-back, so it never sets
// the dirty bit; an image that arrives dirty (written by QEMU with lazy_refcounts=on and not
// closed cleanly) has its refcounts rebuilt from the L1/L2 tables at a writable open.
// tests/unit/qcow2/crash_test.cc cuts the power 200 times at random moments and checks both.
#include "devices/blk/qcow2/refcounts.h"

#include <algorithm>
#include <string>

#include "devices/blk/qcow2/format.h"

namespace bulwark::qcow2 {
namespace {
using namespace format;
Error refcount_error(const std::string& what) { return Error("qcow2: " + what); }
}  // namespace

Refcounts::Refcounts(ImageFile& file, Header& header, size_t cache_bytes, uint64_t max_file_size,
                     std::function<bool(uint64_t)> reserved)
    : file_(file),
      header_(header),
      cluster_size_(header.cluster_size),
      max_clusters_(max_file_size / header.cluster_size),
      refcount_bits_(1u << header.refcount_order),
      max_refcount_(refcount_bits_ == 64 ? UINT64_MAX : (uint64_t{1} << refcount_bits_) - 1),
      entries_per_block_(header.cluster_size * 8 / refcount_bits_),
      cache_(header.cluster_size, cache_bytes),
      reserved_(std::move(reserved)) {}

Status Refcounts::check_block_offset(uint64_t offset) const {
  const uint64_t cs = cluster_size_;
  if (offset % cs != 0)
    return refcount_error("refcount block offset " + std::to_string(offset) + " is not cluster-aligned");
  if (offset >= kMaxHostOffset || offset + cs > file_.size())
    return refcount_error("refcount block at " + std::to_string(offset) + " lies past the end of the file");
  if (offset == 0) return refcount_error("a refcount block overlaps the header");
  if (overlaps(offset, cs, header_.l1_table_offset, uint64_t{header_.l1_size} * 8))
    return refcount_error("refcount block at " + std::to_string(offset) + " overlaps the L1 table");
  if (overlaps(offset, cs, header_.refcount_table_offset,
               uint64_t{header_.refcount_table_clusters} * cs))
    return refcount_error("refcount block at " + std::to_string(offset) + " overlaps the refcount table");
  return ok_status();
}

Result<std::unique_ptr<Refcounts>> Refcounts::open(ImageFile& file, Header& header, size_t cache_bytes,
                                                   uint64_t max_file_size,
                                                   std::function<bool(uint64_t)> reserved) {
  std::unique_ptr<Refcounts> r(new Refcounts(file, header, cache_bytes, max_file_size, std::move(reserved)));
  // parse_header bounded the table by 8 MiB and by the file.
  std::vector<uint8_t> bytes(uint64_t{header.refcount_table_clusters} * header.cluster_size);
  BULWARK_TRY(file.read_at(header.refcount_table_offset, bytes));
  r->table_.resize(bytes.size() / 8);
  for (size_t i = 0; i < r->table_.size(); ++i) {
    const uint64_t e = be64(&bytes[i * 8]);
    if (e & 0x1ff) return refcount_error("refcount table entry " + std::to_string(i) + " has reserved bits set");
    if (e == 0) continue;
    if (auto s = r->check_block_offset(e); !s) return s.error();
    r->table_[i] = e;
    r->block_clusters_.push_back(e / header.cluster_size);
  }
  std::sort(r->block_clusters_.begin(), r->block_clusters_.end());
  if (std::adjacent_find(r->block_clusters_.begin(), r->block_clusters_.end()) != r->block_clusters_.end())
    return refcount_error("two refcount table entries name the same refcount block");
  return r;
}

std::pair<uint64_t, uint64_t> Refcounts::entry_bytes(uint64_t index) const {
  if (refcount_bits_ >= 8) return {index * (refcount_bits_ / 8), refcount_bits_ / 8};
  return {index * refcount_bits_ / 8, 1};
}

uint64_t Refcounts::read_entry(const uint8_t* block, uint64_t index) const {
  if (refcount_bits_ >= 8) {
    const uint8_t* p = block + index * (refcount_bits_ / 8);
    uint64_t v = 0;
    for (uint32_t i = 0; i < refcount_bits_ / 8; ++i) v = (v << 8) | p[i];
    return v;
  }
  const uint64_t bit = index * refcount_bits_;
  return (block[bit / 8] >> (bit % 8)) & ((1u << refcount_bits_) - 1);
}

void Refcounts::write_entry(uint8_t* block, uint64_t index, uint64_t value) const {
  if (refcount_bits_ >= 8) {
    const uint32_t n = refcount_bits_ / 8;
    uint8_t* p = block + index * n;
    for (uint32_t i = 0; i < n; ++i) p[n - 1 - i] = static_cast<uint8_t>(value >> (8 * i));
    return;
  }
  const uint64_t bit = index * refcount_bits_;
  const uint8_t mask = static_cast<uint8_t>(((1u << refcount_bits_) - 1) << (bit % 8));
  block[bit / 8] = static_cast<uint8_t>((block[bit / 8] & ~mask) | ((value << (bit % 8)) & mask));
}

bool Refcounts::is_refcount_metadata(uint64_t cluster) const {
  const uint64_t first = header_.refcount_table_offset / cluster_size_;
  if (cluster >= first && cluster < first + header_.refcount_table_clusters) return true;
  return std::binary_search(block_clusters_.begin(), block_clusters_.end(), cluster);
}

std::vector<uint64_t> Refcounts::metadata_clusters() const {
  std::vector<uint64_t> out = block_clusters_;
  const uint64_t first = header_.refcount_table_offset / cluster_size_;
  for (uint64_t i = 0; i < header_.refcount_table_clusters; ++i) out.push_back(first + i);
  return out;
}

Result<uint64_t> Refcounts::get(uint64_t cluster) {
  const uint64_t idx = cluster / entries_per_block_;
  if (idx >= table_.size() || table_[idx] == 0) return uint64_t{0};
  auto block = cache_.get(file_, table_[idx]);
  if (!block) return block.error();
  return read_entry(*block, cluster % entries_per_block_);
}

bool Refcounts::unusable(uint64_t cluster) const {
  if (cluster == 0 || cluster >= max_clusters_ || reserved_(cluster) || is_refcount_metadata(cluster))
    return true;
  return rebuild_counts_ && cluster < rebuild_counts_->size() && (*rebuild_counts_)[cluster] != 0;
}

Status Refcounts::add_block(uint64_t index, uint64_t avoid) {
  const uint64_t E = entries_per_block_;
  const uint64_t first = index * E;
  // Prefer a cluster past the end of the file (nothing can be there), else the lowest one.
  uint64_t chosen = UINT64_MAX;
  const uint64_t file_end = div_round_up(file_.size(), cluster_size_);
  for (uint64_t c = std::max(first, file_end); c < first + E && c < max_clusters_; ++c)
    if (c != avoid && !unusable(c)) { chosen = c; break; }
  for (uint64_t c = first; chosen == UINT64_MAX && c < first + E && c < max_clusters_; ++c)
    if (c != avoid && !unusable(c)) chosen = c;
  if (chosen == UINT64_MAX)
    return refcount_error("no room for a refcount block (the image is at its size bound)");
  std::vector<uint8_t> block(cluster_size_, 0);
  write_entry(block.data(), chosen - first, 1);
  BULWARK_TRY(file_.write_at(chosen * cluster_size_, block));
  BULWARK_TRY(file_.flush());  // rule 3: the block before the table entry naming it
  uint8_t entry[8];
  put_be64(entry, chosen * cluster_size_);
  BULWARK_TRY(file_.write_at(header_.refcount_table_offset + index * 8, entry));
  table_[index] = chosen * cluster_size_;
  block_clusters_.insert(std::lower_bound(block_clusters_.begin(), block_clusters_.end(), chosen), chosen);
  cache_.insert(chosen * cluster_size_, std::move(block));
  return ok_status();
}

Status Refcounts::grow_table(uint64_t min_index, uint64_t avoid) {
  const uint64_t E = entries_per_block_;
  const uint64_t cs = cluster_size_;
  const uint64_t n = table_.size();
  uint64_t want = std::max(div_round_up(max_clusters_, E), min_index + 1);
  want = std::min(want, kMaxRefcountTableBytes / 8);
  if (want <= min_index) return refcount_error("the refcount table would grow past 8 MiB");
  const uint64_t t_clusters = div_round_up(want * 8, cs);
  const uint64_t entries = t_clusters * cs / 8;
  const uint64_t start = std::max(sat_mul(n, E), sat_add(avoid, 1));
  const uint64_t first_idx = start / E;
  uint64_t blocks = 0;
  for (int i = 0; i < 64; ++i) {
    const uint64_t last = sat_add(start, t_clusters + blocks) - 1;
    const uint64_t need = last / E - first_idx + 1;
    if (need == blocks) break;
    blocks = need;
  }
  const uint64_t end = sat_add(start, t_clusters + blocks);
  if (end > max_clusters_ || (end - 1) / E >= entries)
    return refcount_error("no room to grow the refcount table (the image is at its size bound)");
  for (uint64_t c = start; c < end; ++c)
    if (unusable(c) && c < max_clusters_)
      return refcount_error("metadata lies where the refcount table would grow");

  // New blocks count the new table and themselves.
  std::vector<uint64_t> new_table(entries, 0);
  std::copy(table_.begin(), table_.end(), new_table.begin());
  std::vector<std::vector<uint8_t>> block_bytes;
  for (uint64_t k = 0; k < blocks; ++k) {
    const uint64_t bi = first_idx + k;
    std::vector<uint8_t> block(cs, 0);
    for (uint64_t c = std::max(start, bi * E); c < end && c < (bi + 1) * E; ++c)
      write_entry(block.data(), c - bi * E, 1);
    const uint64_t bc = start + t_clusters + k;
    BULWARK_TRY(file_.write_at(bc * cs, block));
    new_table[bi] = bc * cs;
    block_bytes.push_back(std::move(block));
  }
  std::vector<uint8_t> table_bytes(t_clusters * cs, 0);
  for (uint64_t i = 0; i < entries; ++i) put_be64(&table_bytes[i * 8], new_table[i]);
  BULWARK_TRY(file_.write_at(start * cs, table_bytes));
  BULWARK_TRY(file_.flush());  // rule 4: new table and blocks before the header names them
  uint8_t field[12];
  put_be64(field, start * cs);
  put_be32(field + 8, static_cast<uint32_t>(t_clusters));
  BULWARK_TRY(file_.write_at(kRefcountTableOffsetField, field));
  BULWARK_TRY(file_.flush());

  const uint64_t old_first = header_.refcount_table_offset / cs;
  const uint64_t old_clusters = header_.refcount_table_clusters;
  header_.refcount_table_offset = start * cs;
  header_.refcount_table_clusters = static_cast<uint32_t>(t_clusters);
  table_ = std::move(new_table);
  for (uint64_t k = 0; k < blocks; ++k) {
    const uint64_t bc = start + t_clusters + k;
    block_clusters_.insert(std::lower_bound(block_clusters_.begin(), block_clusters_.end(), bc), bc);
    cache_.insert(bc * cs, std::move(block_bytes[k]));
  }
  for (uint64_t c = old_first; c < old_first + old_clusters; ++c) BULWARK_TRY(decrement(c));
  return ok_status();
}

Result<uint8_t*> Refcounts::block_for(uint64_t cluster, bool create, uint64_t avoid) {
  const uint64_t idx = cluster / entries_per_block_;
  if (idx >= table_.size()) {
    if (!create) return static_cast<uint8_t*>(nullptr);
    BULWARK_TRY(grow_table(idx, avoid));
  }
  if (table_[idx] == 0) {
    if (!create) return static_cast<uint8_t*>(nullptr);
    BULWARK_TRY(add_block(idx, avoid));
  }
  return cache_.get(file_, table_[idx]);
}

Status Refcounts::set(uint64_t cluster, uint64_t value) {
  if (value > max_refcount_)
    return refcount_error("refcount of cluster " + std::to_string(cluster) + " would exceed " +
                std::to_string(max_refcount_));
  auto block = block_for(cluster, value != 0, cluster);
  if (!block) return block.error();
  if (*block == nullptr) return ok_status();  // no block: already 0
  const uint64_t index = cluster % entries_per_block_;
  write_entry(*block, index, value);
  const auto [off, len] = entry_bytes(index);
  cache_.mark_dirty(table_[cluster / entries_per_block_], off, off + len);
  if (value == 0 && cluster < free_cursor_) free_cursor_ = std::max<uint64_t>(cluster, 1);
  // Dirty blocks are pinned in the cache: past its budget they go to the file (safe at any
  // moment, rule 1), which makes them evictable again.
  if (cache_.over_budget()) return write_back();
  return ok_status();
}

Status Refcounts::write_back() {
  for (uint64_t offset : cache_.dirty()) {
    const auto [begin, end] = cache_.dirty_range(offset);
    const uint8_t* block = cache_.peek(offset);
    BULWARK_TRY(file_.write_at(offset + begin, std::span<const uint8_t>(block + begin, end - begin)));
    cache_.clean(offset);
  }
  return ok_status();
}

Status Refcounts::increment(uint64_t cluster) {
  auto v = get(cluster);
  if (!v) return v.error();
  if (*v == max_refcount_)
    return refcount_error("refcount of cluster " + std::to_string(cluster) + " is at its maximum");
  return set(cluster, *v + 1);
}

Status Refcounts::decrement(uint64_t cluster) {
  auto v = get(cluster);
  if (!v) return v.error();
  if (*v == 0) return refcount_error("refcount of cluster " + std::to_string(cluster) + " is already 0");
  return set(cluster, *v - 1);
}

Result<uint64_t> Refcounts::allocate() {
  const uint64_t E = entries_per_block_;
  for (uint64_t c = std::max<uint64_t>(free_cursor_, 1); c < max_clusters_; ++c) {
    const uint64_t idx = c / E;
    if (idx < table_.size() && table_[idx] != 0) {
      auto block = cache_.get(file_, table_[idx]);
      if (!block) return block.error();
      const uint8_t* b = *block;
      for (; c < (idx + 1) * E && c < max_clusters_; ++c)
        if (read_entry(b, c % E) == 0 && !unusable(c)) break;
      if (c == (idx + 1) * E || c >= max_clusters_) {
        --c;
        continue;
      }
    } else if (unusable(c)) {
      continue;
    }
    free_cursor_ = c + 1;
    BULWARK_TRY(set(c, 1));
    return c;
  }
  return refcount_error("the image is full: no free cluster below its size bound of " +
              std::to_string(max_clusters_ * cluster_size_) + " bytes");
}

Status Refcounts::rebuild(const std::vector<uint64_t>& counts) {
  rebuild_counts_ = &counts;
  struct Reset {
    const std::vector<uint64_t>** p;
    ~Reset() { *p = nullptr; }
  } reset{&rebuild_counts_};
  const uint64_t E = entries_per_block_;
  auto want = [&](uint64_t c) -> uint64_t {
    if (is_refcount_metadata(c)) return 1;
    return c < counts.size() ? counts[c] : 0;
  };
  for (uint64_t idx = 0; idx < table_.size(); ++idx) {
    if (table_[idx] == 0) continue;
    // A copy of the block: set() may load other blocks and evict this one.
    auto cached = cache_.get(file_, table_[idx]);
    if (!cached) return cached.error();
    const std::vector<uint8_t> block(*cached, *cached + cluster_size_);
    for (uint64_t c = idx * E; c < (idx + 1) * E; ++c) {
      const uint64_t w = std::min(want(c), max_refcount_);
      if (read_entry(block.data(), c - idx * E) != w) BULWARK_TRY(set(c, w));
    }
  }
  std::vector<bool> covered(table_.size());
  for (uint64_t idx = 0; idx < table_.size(); ++idx) covered[idx] = table_[idx] != 0;
  for (uint64_t c = 0; c < counts.size(); ++c) {
    const uint64_t idx = c / E;
    if (counts[c] == 0 || (idx < covered.size() && covered[idx])) continue;
    BULWARK_TRY(set(c, std::min(counts[c], max_refcount_)));
  }
  free_cursor_ = 1;
  return write_back();  // the caller flushes
}

}  // namespace bulwark::qcow2
