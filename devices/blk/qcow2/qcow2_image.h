// A qcow2 image served to the guest: guest offsets mapped through the L1 and L2 tables to host
// clusters, unallocated ranges read from the backing image (or as zeros), writes allocating
// clusters with refcounts kept consistent, zero clusters, discard, and copy-on-write of clusters
// shared with internal snapshots (refcount > 1). Metadata reaches the file in an order that
// leaves the image consistent at every instant (refcounts.cc, "qcow2: write order"): refcounts
// and data before the L2 tables naming them, L2 tables before L1 entries, with flushes between,
// and a replaced cluster's refcount dropped only once nothing durable names it.
//
// Hostile images: every table offset and size is checked against the file and against each
// other at open; every entry at use (a data cluster past the end of the file, or overlapping
// metadata, fails that request with an error); the L2 and refcount caches are bounded; a
// compressed cluster never inflates past one cluster. A guest- or image-caused error fails the
// request (IOERR), never the process.
// Pure (no system calls): the file is an ImageFile.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "bulwark/common/result.h"
#include "devices/blk/qcow2/image_file.h"
#include "devices/blk/qcow2/qcow2_header.h"

namespace bulwark::qcow2 {

// What an overlay reads where it has no cluster of its own: the next image of the chain.
class BackingReader {
 public:
  virtual ~BackingReader() = default;
  virtual uint64_t virtual_size() const = 0;
  // Reads past virtual_size() read as zeros (the overlay may be larger than its backing).
  virtual Status read(uint64_t offset, std::span<uint8_t> data) = 0;
};

struct OpenOptions {
  bool read_only = false;
  size_t l2_cache_bytes = 1 << 20;
  size_t refcount_cache_bytes = 1 << 20;
  // The next image of the chain (borrowed; must outlive the image); nullptr = none. An image
  // whose header names a backing file but is given none is refused at open.
  BackingReader* backing = nullptr;
  // The most the file may grow to (the launcher sets RLIMIT_FSIZE to the same bound):
  // 0 = virtual size + the metadata bound metadata_bound(header).
  uint64_t max_file_size = 0;
};

class Image final : public BackingReader {
 public:
  // Parses the header, checks the L1 and refcount tables (bounds, overlaps, sizes), and when
  // the dirty bit is set and the image is writable, rebuilds the refcounts before use.
  static Result<std::unique_ptr<Image>> open(ImageFile& file, const OpenOptions& options);
  ~Image() override;

  const Header& header() const;
  uint64_t virtual_size() const override;
  Status read(uint64_t offset, std::span<uint8_t> data) override;
  Status write(uint64_t offset, std::span<const uint8_t> data);
  // Frees the clusters wholly inside the range; they read as zeros afterwards (zero clusters
  // when there is a backing image, so its data does not show through). Partial clusters are
  // left as they are (DISCARD is a hint).
  Status discard(uint64_t offset, uint64_t length);
  // Zeros: zero clusters where whole clusters are covered, written zeros elsewhere.
  Status write_zeroes(uint64_t offset, uint64_t length);
  // Metadata and data durable (caches written back in the safe order, then the file flushed).
  Status flush();

 private:
  struct State;
  explicit Image(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// The most metadata an image of this geometry can need (L1, L2 tables, refcount table and
// blocks for a fully allocated image), used to bound the file's growth.
uint64_t metadata_bound(const Header& header);

}  // namespace bulwark::qcow2
