// Internal: what the parts of an open image share (the file, the parsed header, the bounds),
// and the metadata-overlap checks every table and data offset goes through before use.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bulwark/common/result.h"
#include "devices/blk/qcow2/image_file.h"
#include "devices/blk/qcow2/qcow2_header.h"
#include "devices/blk/qcow2/qcow2_image.h"

namespace bulwark::qcow2 {

class Refcounts;
class ClusterMap;

struct SnapshotL1 {
  uint64_t l1_offset;
  uint32_t l1_size;
};

struct Context {
  Context(ImageFile& f, const Header& h, const OpenOptions& o) : file(f), header(h), options(o) {}
  ~Context();  // in qcow2_image.cc, where Refcounts and ClusterMap are complete
  ImageFile& file;
  Header header;
  OpenOptions options;
  uint64_t cluster_size() const { return header.cluster_size; }
  uint32_t cluster_bits() const { return header.cluster_bits; }
  uint64_t max_file_size = 0;
  uint64_t snapshot_table_bytes = 0;
  std::vector<SnapshotL1> snapshots;
  std::unique_ptr<Refcounts> refcounts;  // only for writable images
  std::unique_ptr<ClusterMap> map;

  // A cluster holding fixed metadata: the header, the L1 table, the refcount table or a
  // refcount block, the snapshot table, an active L2 table.
  bool is_metadata(uint64_t cluster) const;
  // A host cluster offset taken from a table entry (an L2 table, a data cluster): aligned,
  // inside the file and below 2^56, not metadata. `what` names it in the error.
  Status check_cluster(uint64_t offset, const std::string& what, bool allow_l2 = false) const;
};

}  // namespace bulwark::qcow2
