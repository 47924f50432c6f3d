#include "devices/blk/qcow2/rebuild.h"

#include <string>
#include <vector>

#include "devices/blk/qcow2/cluster_map.h"
#include "devices/blk/qcow2/compressed.h"
#include "devices/blk/qcow2/format.h"
#include "devices/blk/qcow2/refcounts.h"

namespace bulwark::qcow2 {
namespace {
using namespace format;
Error rebuild_error(const std::string& what) { return Error("qcow2: refcount rebuild: " + what); }

struct Counter {
  std::vector<uint64_t> counts;  // one per cluster of the file (bounded by the file's size)
  uint64_t cluster_size;
  Status add_range(uint64_t offset, uint64_t length, const std::string& what) {
    if (length == 0) return ok_status();
    const auto end = add(offset, length);
    if (!end || div_round_up(*end, cluster_size) > counts.size())
      return rebuild_error(what + " at " + std::to_string(offset) + " lies past the end of the file");
    for (uint64_t c = offset / cluster_size; c < div_round_up(*end, cluster_size); ++c) ++counts[c];
    return ok_status();
  }
};

Status count_l1(Context& ctx, Counter& counter, uint64_t l1_offset, uint32_t l1_size) {
  const uint64_t cs = ctx.cluster_size();
  BULWARK_TRY(counter.add_range(l1_offset, uint64_t{l1_size} * 8, "an L1 table"));
  std::vector<uint8_t> l1(uint64_t{l1_size} * 8);
  BULWARK_TRY(ctx.file.read_at(l1_offset, l1));
  std::vector<uint8_t> l2(cs);
  for (uint32_t i = 0; i < l1_size; ++i) {
    const uint64_t l2_offset = be64(&l1[uint64_t{i} * 8]) & kOffsetMask;
    if (l2_offset == 0) continue;
    if (l2_offset % cs != 0) return rebuild_error("an L2 table offset is not cluster-aligned");
    BULWARK_TRY(counter.add_range(l2_offset, cs, "an L2 table"));
    BULWARK_TRY(ctx.file.read_at(l2_offset, l2));
    for (uint64_t j = 0; j < cs / 8; ++j) {
      const uint64_t e = be64(&l2[j * 8]);
      if (e & kCompressed) {
        const CompressedExtent ext = compressed_extent(e, ctx.cluster_bits());
        const uint64_t length = std::min(ext.length, ctx.file.size() > ext.offset ? ctx.file.size() - ext.offset : 0);
        BULWARK_TRY(counter.add_range(ext.offset, length == 0 ? 1 : length, "a compressed cluster"));
      } else if ((e & kOffsetMask) != 0) {
        if ((e & kOffsetMask) % cs != 0) return rebuild_error("a data cluster offset is not cluster-aligned");
        BULWARK_TRY(counter.add_range(e & kOffsetMask, cs, "a data cluster"));
      }
    }
  }
  return ok_status();
}

}  // namespace

Status rebuild_refcounts(Context& ctx) {
  const uint64_t cs = ctx.cluster_size();
  Counter counter{std::vector<uint64_t>(div_round_up(ctx.file.size(), cs), 0), cs};
  BULWARK_TRY(counter.add_range(0, cs, "the header"));
  BULWARK_TRY(count_l1(ctx, counter, ctx.header.l1_table_offset, ctx.header.l1_size));
  for (const SnapshotL1& s : ctx.snapshots) BULWARK_TRY(count_l1(ctx, counter, s.l1_offset, s.l1_size));
  if (ctx.header.nb_snapshots > 0)
    BULWARK_TRY(counter.add_range(ctx.header.snapshots_offset, ctx.snapshot_table_bytes, "the snapshot table"));
  for (uint64_t c : ctx.refcounts->metadata_clusters())
    BULWARK_TRY(counter.add_range(c * cs, cs, "refcount metadata"));
  return ctx.refcounts->rebuild(counter.counts);
}

}  // namespace bulwark::qcow2
