#include "devices/blk/qcow2/snapshots.h"

#include <string>

#include "devices/blk/qcow2/cluster_map.h"
#include "devices/blk/qcow2/format.h"
#include "devices/blk/qcow2/refcounts.h"

namespace bulwark::qcow2 {
namespace {
using namespace format;
Error snapshot_table_error(const std::string& what) { return Error("qcow2: " + what); }
constexpr uint32_t kMaxExtraData = 1024;  // QEMU's limit on a snapshot entry's extra data
}  // namespace

Status read_snapshot_table(Context& ctx) {
  const Header& h = ctx.header;
  ctx.snapshots.clear();
  ctx.snapshot_table_bytes = 0;
  uint64_t off = h.snapshots_offset;
  for (uint32_t i = 0; i < h.nb_snapshots; ++i) {
    uint8_t fixed[40];
    if (off - h.snapshots_offset + 40 > kMaxSnapshotTableBytes)
      return snapshot_table_error("the snapshot table is larger than 64 MiB");
    if (auto s = ctx.file.read_at(off, fixed); !s)
      return snapshot_table_error("snapshot " + std::to_string(i) + " lies past the end of the file");
    const uint64_t l1_offset = be64(fixed);
    const uint32_t l1_size = be32(fixed + 8);
    const uint16_t id_len = be16(fixed + 12);
    const uint16_t name_len = be16(fixed + 14);
    const uint32_t extra = be32(fixed + 36);
    if (extra > kMaxExtraData)
      return snapshot_table_error("snapshot " + std::to_string(i) + " has " + std::to_string(extra) + " bytes of extra data");
    if (l1_size > kMaxL1Bytes / 8)
      return snapshot_table_error("snapshot " + std::to_string(i) + "'s L1 table is larger than 32 MiB");
    if (l1_size > 0) {
      const auto end = add(l1_offset, uint64_t{l1_size} * 8);
      if (l1_offset % h.cluster_size != 0 || l1_offset == 0 || !end || *end > ctx.file.size())
        return snapshot_table_error("snapshot " + std::to_string(i) + "'s L1 table at " + std::to_string(l1_offset) +
                    " is unaligned, in the header or past the end of the file");
    }
    ctx.snapshots.push_back({l1_offset, l1_size});
    const uint64_t entry = 40 + uint64_t{extra} + id_len + name_len;
    // The last entry's padding may be missing from the file (QEMU writes the table unpadded).
    if (off + entry > ctx.file.size())
      return snapshot_table_error("snapshot " + std::to_string(i) + " runs past the end of the file");
    off += div_round_up(entry, 8) * 8;
  }
  ctx.snapshot_table_bytes = off - h.snapshots_offset;
  return ok_status();
}

}  // namespace bulwark::qcow2
