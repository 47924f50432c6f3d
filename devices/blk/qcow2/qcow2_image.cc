// Image: open (header, tables, snapshot table, refcount rebuild when dirty), and the guest's
// reads, writes, discards and zeroing, tying the cluster map and the refcounts together in
// the write order described in refcounts.cc.
#include "devices/blk/qcow2/qcow2_image.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "devices/blk/qcow2/cluster_map.h"
#include "devices/blk/qcow2/compressed.h"
#include "devices/blk/qcow2/context.h"
#include "devices/blk/qcow2/format.h"
#include "devices/blk/qcow2/rebuild.h"
#include "devices/blk/qcow2/refcounts.h"
#include "devices/blk/qcow2/snapshots.h"

namespace bulwark::qcow2 {
namespace {
using namespace format;
Error fail(const std::string& what) { return Error("qcow2: " + what); }
// Standard cluster descriptor bits that must be zero: 1-8 and 56-61.
constexpr uint64_t kL2Reserved = 0x3f000000000001feull;
// Whether every byte of `bytes` outside [begin, begin + length) is zero.
bool zero_outside(std::span<const uint8_t> bytes, uint64_t begin, uint64_t length) {
  auto zero = [](std::span<const uint8_t> s) {
    return std::all_of(s.begin(), s.end(), [](uint8_t b) { return b == 0; });
  };
  return zero(bytes.first(begin)) && zero(bytes.subspan(begin + length));
}
// Zeros `out` from byte `from` on (an empty tail is fine: no call with a null pointer).
void zero_from(std::span<uint8_t> out, uint64_t from) {
  if (from < out.size()) std::memset(out.data() + from, 0, out.size() - from);
}
}  // namespace

Context::~Context() = default;

bool Context::is_metadata(uint64_t cluster) const {
  const uint64_t cs = cluster_size();
  if (cluster == 0) return true;
  const uint64_t off = cluster * cs;
  if (overlaps(off, cs, header.l1_table_offset, uint64_t{header.l1_size} * 8)) return true;
  if (overlaps(off, cs, header.refcount_table_offset, uint64_t{header.refcount_table_clusters} * cs))
    return true;
  if (header.nb_snapshots > 0 && overlaps(off, cs, header.snapshots_offset, snapshot_table_bytes))
    return true;
  if (refcounts && refcounts->is_refcount_metadata(cluster)) return true;
  return map && map->is_l2_table(cluster);
}

Status Context::check_cluster(uint64_t offset, const std::string& what, bool allow_l2) const {
  const uint64_t cs = cluster_size();
  if (offset % cs != 0) return fail(what + " at " + std::to_string(offset) + " is not cluster-aligned");
  if (offset >= kMaxHostOffset || offset >= file.size())
    return fail(what + " at " + std::to_string(offset) + " lies past the end of the file (" +
                std::to_string(file.size()) + " bytes)");
  const uint64_t c = offset / cs;
  if (allow_l2 && map && map->is_l2_table(c)) {
    // An L2 table named twice is caught by ClusterMap; here only the other metadata matters.
  } else if (is_metadata(c)) {
    return fail(what + " at " + std::to_string(offset) + " overlaps the image's metadata");
  }
  return ok_status();
}

uint64_t metadata_bound(const Header& h) {
  const uint64_t cs = h.cluster_size;
  const uint64_t data = div_round_up(h.virtual_size, cs);
  const uint64_t l2 = l1_entries_needed(h.virtual_size, h.cluster_bits);
  const uint64_t l1 = div_round_up(uint64_t{h.l1_size} * 8, cs);
  const uint64_t refcount_bits = uint64_t{1} << h.refcount_order;
  const uint64_t per_block = cs * 8 / refcount_bits;
  uint64_t base = sat_add(sat_add(sat_add(data, l2), l1), 1 + h.refcount_table_clusters);
  uint64_t blocks = 0, table = 0;
  for (int i = 0; i < 4; ++i) {
    const uint64_t total = sat_add(base, sat_add(blocks, table));
    blocks = div_round_up(total, per_block);
    table = div_round_up(sat_mul(blocks, 8), cs);
  }
  // Room for one more copy of the refcount table and its blocks while it grows, and slack.
  const uint64_t clusters = sat_add(sat_add(sat_mul(blocks, 2), sat_mul(table, 2)), sat_add(l2, l1) + 1 + 4);
  return sat_mul(sat_add(clusters, h.refcount_table_clusters), cs);
}

struct Image::State {
  State(ImageFile& f, const Header& h, const OpenOptions& o) : ctx(f, h, o) {}
  Context ctx;
  // The last compressed cluster inflated (sequential small reads hit it).
  uint64_t inflated_entry = 0;
  std::vector<uint8_t> inflated;

  uint64_t cs() const { return ctx.cluster_size(); }
  Status read_cluster(uint64_t guest_cluster, uint64_t in, std::span<uint8_t> out);
  Status read_backing(uint64_t offset, std::span<uint8_t> out);
  Status read_compressed(uint64_t entry, uint64_t in, std::span<uint8_t> out);
  // An L2 entry a request will write once the clusters it names are durable.
  struct PendingEntry {
    uint64_t guest_cluster;
    uint64_t entry;      // the new entry
    uint64_t old_entry;  // freed once the new entry is durable
  };
  Status write_cluster(uint64_t guest_cluster, uint64_t in, std::span<const uint8_t> data,
                       std::vector<PendingEntry>& pending);
  Status zero_cluster(uint64_t guest_cluster, std::vector<PendingEntry>& pending);
  // The request's new entries into the (write-back) L2 tables; what they replace joins
  // `frees`.
  Status commit(std::vector<PendingEntry>& pending);
  // commit(), then write_back() when the dirty tables reach the cache's budget or many frees
  // wait; returns the request's first error.
  Status finish(Status status, std::vector<PendingEntry>& pending);
  // Metadata to the file in the safe order (ClusterMap::write_back), then FLUSH, then the
  // clusters the old entries named are freed (rule 5).
  Status write_back();
  // prepare() and, when `data`, a new cluster: when the image is at its size bound and
  // clusters wait to be freed, writes back (freeing them) and tries once more.
  Result<uint64_t> make_room(uint64_t guest_cluster, bool data, std::vector<PendingEntry>& pending);
  // Host clusters (entries, or L2 table offsets) to free once the entries that replaced them
  // are durable.
  std::vector<uint64_t> frees;
  Status free_host(uint64_t entry);
  Status check_range(uint64_t offset, uint64_t length, const char* op) const;
};

Status Image::State::check_range(uint64_t offset, uint64_t length, const char* op) const {
  const auto end = add(offset, length);
  if (!end || *end > ctx.header.virtual_size)
    return fail(std::string(op) + " of " + std::to_string(length) + " bytes at " + std::to_string(offset) +
                " is past the virtual size (" + std::to_string(ctx.header.virtual_size) + ")");
  return ok_status();
}

Status Image::State::read_backing(uint64_t offset, std::span<uint8_t> out) {
  BackingReader* b = ctx.options.backing;
  const uint64_t size = b ? b->virtual_size() : 0;
  const uint64_t have = offset >= size ? 0 : std::min<uint64_t>(out.size(), size - offset);
  if (have > 0) BULWARK_TRY(b->read(offset, out.first(have)));
  zero_from(out, have);
  return ok_status();
}

Status Image::State::read_compressed(uint64_t entry, uint64_t in, std::span<uint8_t> out) {
  if (inflated.empty() || inflated_entry != entry) {
    const CompressedExtent ext = compressed_extent(entry, ctx.cluster_bits());
    const uint64_t file_size = ctx.file.size();
    if (ext.offset >= file_size || ext.offset >= kMaxHostOffset)
      return fail("compressed cluster at " + std::to_string(ext.offset) + " lies past the end of the file");
    if (ext.offset < cs() || ctx.is_metadata(ext.offset / cs()))
      return fail("compressed cluster at " + std::to_string(ext.offset) + " overlaps the image's metadata");
    // The descriptor may count sectors past the end of the file (the last one is partial).
    const uint64_t length = std::min(ext.length, file_size - ext.offset);
    std::vector<uint8_t> packed(length);  // at most two clusters (the descriptor's width)
    BULWARK_TRY(ctx.file.read_at(ext.offset, packed));
    inflated.assign(cs(), 0);
    inflated_entry = entry;
    if (auto s = decompress_cluster(ctx.header.compression, packed, inflated); !s) {
      inflated.clear();
      return s;
    }
  }
  if (!out.empty()) std::memcpy(out.data(), inflated.data() + in, out.size());
  return ok_status();
}

Status Image::State::read_cluster(uint64_t gc, uint64_t in, std::span<uint8_t> out) {
  auto e = ctx.map->entry(gc);
  if (!e) return e.error();
  const uint64_t entry = *e;
  if (entry & kCompressed) return read_compressed(entry, in, out);
  if (entry & kL2Reserved)
    return fail("L2 entry of guest cluster " + std::to_string(gc) + " has reserved bits set");
  const uint64_t off = entry & kOffsetMask;
  if (entry & kZeroFlag) {
    if (ctx.header.version < 3)
      return fail("zero cluster flag in a version 2 image (guest cluster " + std::to_string(gc) + ")");
    zero_from(out, 0);
    return ok_status();
  }
  if (off == 0) return read_backing(gc * cs() + in, out);
  BULWARK_TRY(ctx.check_cluster(off, "data cluster of guest cluster " + std::to_string(gc)));
  // The last cluster of a file may be short (the rest reads as zeros, as the file's hole would).
  const uint64_t file_size = ctx.file.size();
  const uint64_t start = off + in;
  const uint64_t have = start >= file_size ? 0 : std::min<uint64_t>(out.size(), file_size - start);
  if (have > 0) BULWARK_TRY(ctx.file.read_at(start, out.first(have)));
  zero_from(out, have);
  return ok_status();
}

Status Image::State::free_host(uint64_t entry) {
  Refcounts& rc = *ctx.refcounts;
  if (entry & kCompressed) {
    const CompressedExtent ext = compressed_extent(entry, ctx.cluster_bits());
    const uint64_t first = ext.offset / cs();
    const uint64_t last = (ext.offset + ext.length - 1) / cs();
    for (uint64_t c = first; c <= last; ++c) BULWARK_TRY(rc.decrement(c));
    if (inflated_entry == entry) inflated.clear();
    return ok_status();
  }
  const uint64_t off = entry & kOffsetMask;
  if (off == 0) return ok_status();
  return rc.decrement(off / cs());
}

Status Image::State::write_cluster(uint64_t gc, uint64_t in, std::span<const uint8_t> data,
                                   std::vector<PendingEntry>& pending) {
  auto e = ctx.map->entry(gc);
  if (!e) return e.error();
  const uint64_t entry = *e;
  const bool standard = !(entry & kCompressed);
  const uint64_t off = standard ? entry & kOffsetMask : 0;
  if (standard && (entry & kL2Reserved))
    return fail("L2 entry of guest cluster " + std::to_string(gc) + " has reserved bits set");
  if (standard && off != 0 && !(entry & kZeroFlag)) {
    BULWARK_TRY(ctx.check_cluster(off, "data cluster of guest cluster " + std::to_string(gc)));
    auto count = ctx.refcounts->get(off / cs());
    if (!count) return count.error();
    if (*count == 1) return ctx.file.write_at(off + in, data);  // ours alone: in place
  }
  // Allocate: a new cluster holding the old contents with the new bytes over them.
  std::vector<uint8_t> cluster;
  if (data.size() != cs()) {
    cluster.resize(cs());
    BULWARK_TRY(read_cluster(gc, 0, cluster));
    if (!data.empty()) std::memcpy(cluster.data() + in, data.data(), data.size());
  }
  auto fresh = make_room(gc, true, pending);
  if (!fresh) return fresh.error();
  const uint64_t host = *fresh * cs();
  if (data.size() != cs() && host >= ctx.file.size() && zero_outside(cluster, in, data.size())) {
    // A cluster past the end of the file whose old contents are zeros (no backing data): the
    // file already reads as zeros there (a hole, or past its end: the last cluster of a file
    // may be short, read_cluster), so only the guest's bytes are written, not a whole cluster.
    BULWARK_TRY(ctx.file.write_at(host + in, data));
  } else {
    BULWARK_TRY(ctx.file.write_at(host, data.size() == cs() ? data : std::span<const uint8_t>(cluster)));
  }
  // The L2 entry goes to the write-back cache; write_back() flushes the data and refcount
  // before it writes the table (rule 1).
  pending.push_back({gc, host | kCopied, entry});
  return ok_status();
}

Status Image::State::commit(std::vector<PendingEntry>& pending) {
  for (const PendingEntry& p : pending) {
    BULWARK_TRY(ctx.map->set_entry(p.guest_cluster, p.entry));
    if ((p.old_entry & kCompressed) || (p.old_entry & kOffsetMask) != 0) frees.push_back(p.old_entry);
  }
  pending.clear();
  return ok_status();
}

Result<uint64_t> Image::State::make_room(uint64_t gc, bool data, std::vector<PendingEntry>& pending) {
  auto attempt = [&]() -> Result<uint64_t> {
    BULWARK_TRY(ctx.map->prepare(gc, frees));
    if (!data) return uint64_t{0};
    return ctx.refcounts->allocate();
  };
  auto first = attempt();
  if (first) return first;
  bool reclaimable = !frees.empty();
  for (const PendingEntry& p : pending)
    reclaimable |= (p.old_entry & kCompressed) || (p.old_entry & kOffsetMask) != 0;
  if (!reclaimable) return first;
  BULWARK_TRY(commit(pending));
  BULWARK_TRY(write_back());
  return attempt();
}

Status Image::State::write_back() {
  // Rule 1: refcounts (and the data written since) reach the file before the FLUSH that
  // ClusterMap::write_back() starts with, so before any table naming the clusters they count.
  BULWARK_TRY(ctx.refcounts->write_back());
  BULWARK_TRY(ctx.map->write_back());
  if (frees.empty()) return ok_status();
  BULWARK_TRY(ctx.file.flush());  // rule 5: the new entries before the old clusters are freed
  std::vector<uint64_t> now;
  now.swap(frees);
  for (uint64_t entry : now) BULWARK_TRY(free_host(entry));
  // The decrements too (a lost one is a leak; written now, the next FLUSH keeps them).
  return ctx.refcounts->write_back();
}

Status Image::State::finish(Status status, std::vector<PendingEntry>& pending) {
  // Clusters already written are mapped even when a later part of the request failed (else
  // they would leak); the request still fails with the first error.
  Status committed = commit(pending);
  if (committed.ok() && (ctx.map->over_budget() || frees.size() > 4096)) committed = write_back();
  if (!status.ok()) return status;
  return committed;
}

Status Image::State::zero_cluster(uint64_t gc, std::vector<PendingEntry>& pending) {
  const bool backing = ctx.options.backing != nullptr;
  if (ctx.header.version < 3 && backing) {
    const std::vector<uint8_t> zeros(cs(), 0);
    return write_cluster(gc, 0, zeros, pending);
  }
  const uint64_t desired = backing ? kZeroFlag : 0;
  auto e = ctx.map->entry(gc);
  if (!e) return e.error();
  const uint64_t entry = *e;
  if (entry == desired) return ok_status();
  if (!ctx.map->has_table(gc) && desired == 0) return ok_status();
  if (auto room = make_room(gc, false, pending); !room) return room.error();
  pending.push_back({gc, desired, entry});  // rule 5 in write_back()
  return ok_status();
}

Image::Image(std::unique_ptr<State> state) : state_(std::move(state)) {}
Image::~Image() {
  // What the guest wrote since its last FLUSH is written back too (best effort: the guest
  // did not ask for it to be durable, and an error here has no request to fail).
  if (!state_->ctx.options.read_only) {
    (void)state_->write_back();
    (void)state_->ctx.file.flush();
  }
}

const Header& Image::header() const { return state_->ctx.header; }
uint64_t Image::virtual_size() const { return state_->ctx.header.virtual_size; }

Result<std::unique_ptr<Image>> Image::open(ImageFile& file, const OpenOptions& options) {
  const uint64_t file_size = file.size();
  std::vector<uint8_t> head(std::min<uint64_t>(file_size, kHeaderReadBytes));
  BULWARK_TRY(file.read_at(0, head));
  auto parsed = parse_header(head, file_size);
  if (!parsed) return parsed.error();
  const Header& h = *parsed;
  if (h.corrupt && !options.read_only)
    return fail("the image is marked corrupt (incompatible feature bit 1); it may be opened read-only only");
  if (!h.backing_name.empty() && options.backing == nullptr)
    return fail("the header names a backing file (\"" + h.backing_name + "\") but none was given");
  auto state = std::make_unique<State>(file, h, options);
  Context& ctx = state->ctx;
  ctx.max_file_size = options.max_file_size != 0
                          ? options.max_file_size
                          : sat_add(h.virtual_size, metadata_bound(h));
  if (h.nb_snapshots > 0) BULWARK_TRY(read_snapshot_table(ctx));
  auto refcounts = Refcounts::open(file, ctx.header, options.refcount_cache_bytes, ctx.max_file_size,
                                   [&ctx](uint64_t cluster) { return ctx.is_metadata(cluster); });
  if (!refcounts) return refcounts.error();
  ctx.refcounts = std::move(*refcounts);
  auto map = ClusterMap::open(ctx);
  if (!map) return map.error();
  ctx.map = std::move(*map);
  if (!options.read_only) {
    if (h.version >= 3 && h.autoclear_features != 0) {
      // Unknown auto-clear features (bitmaps) go stale once we write: clear them first.
      const uint8_t zero[8] = {};
      BULWARK_TRY(file.write_at(kAutoclearOffset, zero));
      ctx.header.autoclear_features = 0;
    }
    if (h.dirty) {
      BULWARK_TRY(rebuild_refcounts(ctx));
      BULWARK_TRY(file.flush());
      ctx.header.dirty = false;
      uint8_t bits[8];
      put_be64(bits, incompatible_features(ctx.header));
      BULWARK_TRY(file.write_at(kIncompatOffset, bits));
    }
    BULWARK_TRY(file.flush());
  }
  return std::unique_ptr<Image>(new Image(std::move(state)));
}

Status Image::read(uint64_t offset, std::span<uint8_t> data) {
  State& s = *state_;
  const auto end = add(offset, data.size());
  if (!end) return fail("read range wraps");
  // As a backing image, reads past the virtual size read as zeros.
  const uint64_t vs = s.ctx.header.virtual_size;
  uint64_t inside = offset >= vs ? 0 : std::min<uint64_t>(data.size(), vs - offset);
  zero_from(data, inside);
  uint64_t done = 0;
  while (done < inside) {
    const uint64_t pos = offset + done;
    const uint64_t in = pos & (s.cs() - 1);
    const uint64_t n = std::min(s.cs() - in, inside - done);
    BULWARK_TRY(s.read_cluster(pos >> s.ctx.cluster_bits(), in, data.subspan(done, n)));
    done += n;
  }
  return ok_status();
}

Status Image::write(uint64_t offset, std::span<const uint8_t> data) {
  State& s = *state_;
  if (s.ctx.options.read_only) return fail("the image is read-only");
  BULWARK_TRY(s.check_range(offset, data.size(), "write"));
  std::vector<State::PendingEntry> pending;
  uint64_t done = 0;
  while (done < data.size()) {
    const uint64_t pos = offset + done;
    const uint64_t in = pos & (s.cs() - 1);
    const uint64_t n = std::min<uint64_t>(s.cs() - in, data.size() - done);
    if (auto st = s.write_cluster(pos >> s.ctx.cluster_bits(), in, data.subspan(done, n), pending); !st)
      return s.finish(st, pending);
    done += n;
  }
  return s.finish(ok_status(), pending);
}

Status Image::discard(uint64_t offset, uint64_t length) {
  State& s = *state_;
  if (s.ctx.options.read_only) return fail("the image is read-only");
  BULWARK_TRY(s.check_range(offset, length, "discard"));
  const uint64_t cs = s.cs();
  const uint64_t first = div_round_up(offset, cs);
  const uint64_t last = (offset + length) / cs;  // exclusive
  std::vector<State::PendingEntry> pending;
  for (uint64_t gc = first; gc < last; ++gc)
    if (auto st = s.zero_cluster(gc, pending); !st) return s.finish(st, pending);
  return s.finish(ok_status(), pending);
}

Status Image::write_zeroes(uint64_t offset, uint64_t length) {
  State& s = *state_;
  if (s.ctx.options.read_only) return fail("the image is read-only");
  BULWARK_TRY(s.check_range(offset, length, "write_zeroes"));
  const uint64_t cs = s.cs();
  uint64_t pos = offset;
  const uint64_t end = offset + length;
  std::vector<uint8_t> zeros;
  std::vector<State::PendingEntry> pending;
  while (pos < end) {
    const uint64_t in = pos & (cs - 1);
    const uint64_t n = std::min(cs - in, end - pos);
    Status st = ok_status();
    if (n == cs) {
      st = s.zero_cluster(pos / cs, pending);
    } else {
      zeros.assign(n, 0);
      st = s.write_cluster(pos / cs, in, zeros, pending);
    }
    if (!st) return s.finish(st, pending);
    pos += n;
  }
  return s.finish(ok_status(), pending);
}

Status Image::flush() {
  if (state_->ctx.options.read_only) return ok_status();
  BULWARK_TRY(state_->write_back());
  return state_->ctx.file.flush();
}

}  // namespace bulwark::qcow2
