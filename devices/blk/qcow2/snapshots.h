// Internal: the internal snapshot table (QEMU docs/interop/qcow2.txt, "Snapshots"): each
// snapshot's L1 table, checked (aligned, inside the file, at most 32 MiB), and the table's
// own extent. Bulwark never creates or applies snapshots; it needs their L1 tables to rebuild
// refcounts and to keep the table's clusters out of the allocator's way.
#pragma once

#include "bulwark/common/result.h"
#include "devices/blk/qcow2/context.h"

namespace bulwark::qcow2 {

// Fills ctx.snapshots and ctx.snapshot_table_bytes.
Status read_snapshot_table(Context& ctx);

}  // namespace bulwark::qcow2
