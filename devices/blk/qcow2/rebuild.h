// Internal: refcounts rebuilt from the tables that reference clusters (the header, the L1
// tables of the image and of its snapshots, every L2 table they name, the data and compressed
// clusters those list, the snapshot table, the refcount table and blocks), for an image whose
// dirty bit says its refcounts may be stale (QEMU's lazy refcounts after an unclean exit).
#pragma once

#include "bulwark/common/result.h"
#include "devices/blk/qcow2/context.h"

namespace bulwark::qcow2 {

Status rebuild_refcounts(Context& ctx);

}  // namespace bulwark::qcow2
